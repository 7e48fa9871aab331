"""Datasets in the LECR schema (Contract 1): the schema itself and one converter per source."""
