"""Hypothesis' plugin entry point: ``st.from_type(Value)`` draws leaf Values.

Hypothesis runs it while it is being imported, possibly from inside ``autograd.strategies``' own
import, so it imports nothing of hypothesis' users and resolves the strategy only when drawn.
"""


def setup() -> None:
    """Register ``autograd.strategies.values()`` for the type ``Value``, lazily."""
    from hypothesis import strategies as st

    from .engine import Value

    def draw_values(_type):
        from .strategies import values

        return values()

    st.register_type_strategy(Value, draw_values)
