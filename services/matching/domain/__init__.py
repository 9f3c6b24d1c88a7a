"""Matching's domain: the pool index, the rules, the solver, the Group aggregate. No I/O.

Grown into a package because forming a group is most of this service: profiles (people and needs),
pool (the in-memory index), rules (hard rules and explanations), solver (CP-SAT and greedy), group
(the aggregate's state machine) and formation (replacements, coordinators' changes, batches).
"""
