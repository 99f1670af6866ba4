import doctest
import importlib

import pytest

MODULES = ["encoding", "formats", "headers", "headerrows", "validate", "export", "boundaries", "degrees", "villagenames",
           "personalnumbers", "othercolumns"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"geogrid.io.{name}")
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0
