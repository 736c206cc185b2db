"""Services handlers share that are neither storage nor delivery: who may touch what."""
