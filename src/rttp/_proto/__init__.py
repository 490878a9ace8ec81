"""The sans-IO protocol layer: backend contract and events, validation, content-encoding pipeline.

Nothing here imports trio, socket or ssl (a test walks the imports to keep it so).
"""
