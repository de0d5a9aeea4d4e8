from tests.helpers.netns import netlab  # noqa: F401  (fixture)
