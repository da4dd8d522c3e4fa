"""Infrastructure as code for dataset-downloads: templates, parameters, the packager and the edge config generator."""
