"""Edges that serve semsearch to other programs: `services.api` (HTTP). They use only the public
`semsearch` API and never import each other."""
