"""VRM licence meta that travels with an imported avatar, and the gate on converting it.

VRM 1.0 meta fields are kept as they are; VRM 0.x meta is translated to the 1.0 names (the
original 0.x fields stay in :attr:`AvatarMeta.raw`). Unknown or missing permissions are read as
*not* granted: only an explicit licence lets kyara convert (re-export) somebody else's avatar.
"""

from __future__ import annotations

from dataclasses import dataclass, field

VRM1_FIELDS = ("avatarPermission", "allowExcessivelyViolentUsage", "allowExcessivelySexualUsage",
               "commercialUsage", "allowPoliticalOrReligiousUsage", "allowAntisocialOrHateUsage",
               "creditNotation", "allowRedistribution", "modification", "otherLicenseUrl")
OWN_FLAG = "--i-own-this-avatar"

# VRM 0.x licenseName -> (allowRedistribution, modification)
_LICENSE_0X = {
    "CC0": (True, "allowModificationRedistribution"),
    "CC_BY": (True, "allowModificationRedistribution"),
    "CC_BY_SA": (True, "allowModificationRedistribution"),
    "CC_BY_NC": (True, "allowModificationRedistribution"),
    "CC_BY_NC_SA": (True, "allowModificationRedistribution"),
    "CC_BY_ND": (True, "prohibited"),
    "CC_BY_NC_ND": (True, "prohibited"),
    "Redistribution_Prohibited": (False, "allowModification"),
}


@dataclass(frozen=True)
class AvatarMeta:
    """Who made the avatar and what they allow (VRM 1.0 field names)."""

    name: str = ""
    version: str = ""
    authors: tuple[str, ...] = ()
    license_url: str = ""
    fields: dict = field(default_factory=dict)  # VRM 1.0 licence fields (VRM1_FIELDS) found in the file
    raw: dict = field(default_factory=dict)  # the file's meta object as stored (0.x or 1.0)
    source: str = "none"  # "vrm1", "vrm0" or "none" (plain glTF: no licence meta)

    @property
    def allows_redistribution(self) -> bool:
        return self.fields.get("allowRedistribution") is True

    @property
    def allows_modification(self) -> bool:
        return self.fields.get("modification") in ("allowModification", "allowModificationRedistribution")

    @property
    def allows_conversion(self) -> bool:
        """A converted file is a modified copy that may be passed on: both must be allowed."""
        return self.allows_redistribution and self.fields.get("modification") == "allowModificationRedistribution"

    def summary(self) -> list[tuple[str, str]]:
        """(label, value) rows for ``kyara inspect``."""
        rows = [("name", self.name or "-"), ("version", self.version or "-"),
                ("authors", ", ".join(self.authors) or "-"), ("licenseUrl", self.license_url or "-")]
        rows += [(k, str(self.fields[k])) for k in VRM1_FIELDS if k in self.fields]
        return rows


def _text(v: object) -> str:
    return v.strip() if isinstance(v, str) else ""


def meta_from_vrm1(meta: object) -> AvatarMeta:
    m = meta if isinstance(meta, dict) else {}
    authors = m.get("authors")
    authors = tuple(str(a) for a in authors) if isinstance(authors, list) else ()
    fields = {k: m[k] for k in VRM1_FIELDS if k in m}
    return AvatarMeta(_text(m.get("name")), _text(m.get("version")), authors, _text(m.get("licenseUrl")),
                      fields, dict(m), "vrm1")


VROID_HUB_LICENSE = ("hub.vroid.com", "/license")


def vroid_hub_terms(url: str) -> dict:
    """VRM 1.0 licence fields from a VRoid Hub licence URL (``https://hub.vroid.com/license?...``),
    the terms VRoid Studio writes into VRM 0.x files as an ``Other`` licence; ``{}`` for any other URL.
    Only the query's explicit ``allow`` values grant anything."""
    from urllib.parse import parse_qs, urlsplit

    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return {}
    if parts.scheme not in ("http", "https") or (parts.hostname, parts.path.rstrip("/")) != VROID_HUB_LICENSE:
        return {}
    q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    redistribution = q.get("redistribution") == "allow"
    modification = q.get("modification") == "allow"
    fields: dict = {"allowRedistribution": redistribution,
                    "modification": ("allowModificationRedistribution" if modification and redistribution
                                     else "allowModification" if modification else "prohibited")}
    if q.get("corporate_commercial_use") == "allow":
        fields["commercialUsage"] = "corporation"
    elif q.get("personal_commercial_use") in ("profit", "nonprofit"):
        fields["commercialUsage"] = "personalProfit" if q["personal_commercial_use"] == "profit" else "personalNonProfit"
    if q.get("credit") in ("necessary", "unnecessary"):
        fields["creditNotation"] = "required" if q["credit"] == "necessary" else "unnecessary"
    return fields


def meta_from_vrm0(meta: object) -> AvatarMeta:
    """VRM 0.x meta -> 1.0 names. Missing fields and ``Other`` licences grant nothing, except an
    ``Other`` licence whose URL is VRoid Hub's (:func:`vroid_hub_terms`), which grants what it says."""
    m = meta if isinstance(meta, dict) else {}
    allow = {"Allow": True, "Disallow": False}
    fields: dict = {}
    user = {"OnlyAuthor": "onlyAuthor", "ExplicitlyLicensedPerson": "onlySeparatelyLicensedPerson",
            "Everyone": "everyone"}.get(m.get("allowedUserName"))
    if user:
        fields["avatarPermission"] = user
    for src, dst in (("violentUssageName", "allowExcessivelyViolentUsage"),
                     ("sexualUssageName", "allowExcessivelySexualUsage")):
        if m.get(src) in allow:
            fields[dst] = allow[m[src]]
    if m.get("commercialUssageName") in allow:
        fields["commercialUsage"] = "personalProfit" if allow[m["commercialUssageName"]] else "personalNonProfit"
    redistribution, modification = _LICENSE_0X.get(m.get("licenseName"), (False, "prohibited"))
    fields["allowRedistribution"] = redistribution
    fields["modification"] = modification
    if m.get("licenseName") == "Other":  # VRoid Studio writes its VRoid Hub terms as a licence URL
        fields.update(vroid_hub_terms(_text(m.get("otherLicenseUrl"))) or vroid_hub_terms(_text(m.get("otherPermissionUrl"))))
    if _text(m.get("otherLicenseUrl")):
        fields["otherLicenseUrl"] = _text(m.get("otherLicenseUrl"))
    authors = tuple(a.strip() for a in _text(m.get("author")).split(",") if a.strip())
    return AvatarMeta(_text(m.get("title")), _text(m.get("version")), authors,
                      _text(m.get("otherPermissionUrl")) or _text(m.get("otherLicenseUrl")), fields, dict(m), "vrm0")


def check_conversion_allowed(meta: AvatarMeta | None, own: bool = False, what: str = "convert") -> None:
    """Raise a one-line ``ValueError`` when ``meta`` forbids modification or redistribution and the
    user did not state ownership (``own``, the CLI's ``--i-own-this-avatar``). Plain glTF files
    (no VRM meta) carry no licence to check."""
    if own or meta is None or meta.source == "none" or meta.allows_conversion:
        return
    who = ", ".join(meta.authors) or "its author"
    red = meta.fields.get("allowRedistribution", "unset")
    mod = meta.fields.get("modification", "unset")
    raise ValueError(f"avatar '{meta.name or '?'}' by {who} does not allow this ({what}): its VRM licence says "
                     f"allowRedistribution={red}, modification={mod}; pass {OWN_FLAG} if you hold the rights")
