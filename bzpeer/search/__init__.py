"""Site search and browsing: one search over researchers, works, topics and institutions,
the researcher directory, the topic and institution indexes, and the sitemaps.

A package above the apps (like `bzpeer/curation/`), not inside one of them: a results
page reads the models and queries of works/ and profiles/ together, and neither app may
import the other's pages. Nothing below this layer imports it; the derived data it reads
(researcher search documents, institution membership, researcher counts) is written by
`bzpeer.search.documents`, which the derived-data refresh (bzpeer.curation.derived)
calls after every import, curation, claim and edit.
"""
