"""Tools around the services: the command line, the development stack, the AsyncAPI document."""
