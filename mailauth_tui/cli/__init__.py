"""The headless command line, beside the console. It builds the services and calls them."""
