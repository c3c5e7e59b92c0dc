"""The bench's cells as tasks of dask.distributed: a LocalCluster here, or an existing cluster.

cluster (connect, probe the workers) -> dispatch (batches out, rows in, retries) ->
worker (one batch on one machine, on a worker) with artifacts (files by hash) and
messages (rows from the workers to the one writer of the raw store).
"""
