"""The unit tests of the performer's package, in folders that mirror srlive's subpackages.

pytest puts this folder on sys.path (it holds a conftest), so a test in any subfolder imports the
shared fakes beside it: ``srlive_fakes``, ``fake_rtmidi``, ``link_fakes``, ``toy_models``.
"""
