"""Files -> notes -> chunks: walk a notes folder (`files`), decode and parse each file into a
`Note` with its line map (`documents`), and split notes along their headings into `Chunk`s that
fit the model's window, each with its heading path and exact line range (`chunking`)."""
