"""Measuring retrieval: query sets with hit@k, MRR and span recall (`queries`), BEIR datasets with
nDCG@10 and Recall@100 (`beir`), fitting the score calibration on training queries (`fitting`),
and recall of an approximate vector store against exact search (`recall`)."""
