"""The all-in-one example application: answers with its release and its cache's version."""
