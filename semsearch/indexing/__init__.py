"""Notes folder -> published build: read and chunk every file, embed only what the previous build
does not already hold (`reuse`), record what became of each file, and publish (`build`); on a Ray
cluster (`ray`), and again after each burst of saves (`watch`)."""
