"""The review UI's services: keyword-only functions; the request owns the transaction."""
