from .simple_feature_pyramid import SimpleFeaturePyramid  # noqa: F401
