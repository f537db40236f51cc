"""The environment variables the command line and the import queue's workers read."""

ENV_READ = "BUTTER_READ_TOKEN"
ENV_WRITE = "BUTTER_WRITE_TOKEN"
ENV_BASE = "BUTTER_BASE_URL"
ENV_SHARED_PACE = "BUTTER_SHARED_PACE"
ENV_QUEUE = "BUTTER_QUEUE"
ENV_SWEEP = "BUTTER_QUEUE_SWEEP"
