"""What the owner's visibility form posts with every setting on (tests change one)."""

from __future__ import annotations

VISIBILITY = {
    "followers_visibility": "everyone",
    "in_suggestions": "on",
    "open_visible_to_followers": "on",
    "accepts_invitations": "on",
}
