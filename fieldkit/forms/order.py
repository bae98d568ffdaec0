"""Dependency order for calculations and relevance: dependencies first.

Stable: among independent questions, document order is kept, so a form's
evaluation order is predictable and matches what its author reads.
"""
from __future__ import annotations


class CycleError(ValueError):
    def __init__(self, names: list[str]):
        super().__init__(" -> ".join(names))
        self.names = names


def dependency_order(deps: dict[str, set[str]]) -> list[str]:
    done: dict[str, None] = {}
    visiting: list[str] = []

    def visit(name: str):
        if name in done:
            return
        if name in visiting:
            raise CycleError(visiting[visiting.index(name):] + [name])
        visiting.append(name)
        for dep in sorted(deps.get(name, ()), key=order_of.get):
            if dep in deps and dep != name:
                visit(dep)
        visiting.pop()
        done[name] = None

    order_of = {name: i for i, name in enumerate(deps)}
    order_of.update({n: len(order_of) for d in deps.values() for n in d if n not in order_of})
    for name in deps:
        visit(name)
    return list(done)
