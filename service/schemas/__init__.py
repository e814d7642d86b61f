"""Request and response schemas, split by use so that secrets never reach a response model."""
