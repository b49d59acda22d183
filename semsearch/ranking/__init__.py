"""Query -> ranked hits over one `Index`: dense and BM25 candidates fused with the sentence stage
(`fusion`), exact phrases and identifiers first (`exact`), near-duplicates collapsed (`collapse`),
scores calibrated into P(answered) (`calibration`)."""
