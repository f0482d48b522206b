"""The configuration: the JSON file, the environment and credentials, read once into frozen Settings."""
