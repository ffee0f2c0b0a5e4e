"""The curation layer: every change that corrects or claims a record, with its consequences.

Above the domain apps (works, profiles, claims, graph) and below the screens (views, admin,
tasks, management commands). Each service here applies the domain rules, opens the audit
context and writes the public correction note itself (`services`), then refreshes the
derived data (`derived`), so the admin, a shell and a test record a change identically.
"""
