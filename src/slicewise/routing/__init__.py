"""Routing: map a request to the cheapest model whose predicted quality meets a target."""
