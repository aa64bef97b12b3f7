"""Minimal stand-in for objgraph (Debian: python3-objgraph), used only if it is not installed.

kazoo's test_cache.py imports ``objgraph.count`` to check that TreeCache frees its TreeNode
objects. This is objgraph 3.5's ``count`` (same semantics: count objects tracked by the
garbage collector whose type name, or module-qualified name if it contains a dot, equals
typename); nothing else of objgraph is needed by kazoo's tests.
"""
import gc

__all__ = ["count"]


def _long_typename(obj):
    t = type(obj)
    module = getattr(t, "__module__", None)
    name = t.__name__
    return name if module in (None, "builtins") else "%s.%s" % (module, name)


def count(typename, objects=None):
    if objects is None:
        objects = gc.get_objects()
    try:
        if "." in typename:
            return sum(1 for o in objects if _long_typename(o) == typename)
        return sum(1 for o in objects if type(o).__name__ == typename)
    finally:
        del objects  # clear cyclic references to the frame, as objgraph does
