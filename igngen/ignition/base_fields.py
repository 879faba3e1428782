"""Ignition's field tree, written once: spec 3.0.0's, and the field groups later
versions add (HTTP headers, Tang servers, LUKS volumes).

``spec`` builds every version's tree from ``base_tree()`` plus the additions
its ``SPECS`` entries list. Field names and shapes follow Ignition's
``config/v3_*/types/schema.go``.
"""

from __future__ import annotations

from igngen.ignition.nodes import B, I, List, Node, Obj, S, partition_key


def _verification() -> Obj:
    return Obj({"hash": S()})


def _resource(*, compression: bool) -> Obj:
    fields: dict[str, Node] = {"source": S(), "verification": _verification()}
    if compression:
        fields["compression"] = S()
    return Obj(fields)


def _owner() -> Obj:
    return Obj({"id": I(), "name": S()})


def _node_fields() -> dict[str, Node]:
    return {"path": S(required=True), "overwrite": B(), "user": _owner(), "group": _owner()}


def base_tree() -> Obj:
    """Spec 3.0.0's whole field tree; later versions are what they add to it."""
    file_fields = _node_fields() | {
        "contents": _resource(compression=True),
        "append": List(_resource(compression=True), None),
        "mode": I(),
    }
    dir_fields = _node_fields() | {"mode": I()}
    # ``target`` is enforced as a value rule (RULES_FROM), not a schema requirement.
    link_fields = _node_fields() | {"target": S(), "hard": B()}
    partition = Obj(
        {
            "label": S(),
            "number": I(),
            "sizeMiB": I(),
            "startMiB": I(),
            "typeGuid": S(),
            "guid": S(),
            "wipePartitionEntry": B(),
            "shouldExist": B(),
        }
    )
    return Obj(
        {
            "ignition": Obj(
                {
                    "version": S(required=True),
                    "config": Obj(
                        {
                            "merge": List(_resource(compression=False), "source"),
                            "replace": _resource(compression=False),
                        }
                    ),
                    "timeouts": Obj({"httpResponseHeaders": I(), "httpTotal": I()}),
                    "security": Obj(
                        {
                            "tls": Obj(
                                {
                                    "certificateAuthorities": List(
                                        _resource(compression=False), "source"
                                    ),
                                }
                            )
                        }
                    ),
                },
                required=True,
            ),
            "storage": Obj(
                {
                    "disks": List(
                        Obj(
                            {
                                "device": S(required=True),
                                "wipeTable": B(),
                                "partitions": List(partition, partition_key),
                            }
                        ),
                        "device",
                    ),
                    "raid": List(
                        Obj(
                            {
                                "name": S(required=True),
                                "level": S(required=True),
                                "devices": List(S(), "."),
                                "spares": I(),
                                "options": List(S(), None),
                            }
                        ),
                        "name",
                    ),
                    "filesystems": List(
                        Obj(
                            {
                                "device": S(required=True),
                                "format": S(),
                                "path": S(),
                                "wipeFilesystem": B(),
                                "label": S(),
                                "uuid": S(),
                                "options": List(S(), None),
                            }
                        ),
                        "device",
                    ),
                    "files": List(Obj(file_fields), "path", namespace="node"),
                    "directories": List(Obj(dir_fields), "path", namespace="node"),
                    "links": List(Obj(link_fields), "path", namespace="node"),
                }
            ),
            "systemd": Obj(
                {
                    "units": List(
                        Obj(
                            {
                                "name": S(required=True),
                                "enabled": B(),
                                "mask": B(),
                                "contents": S(),
                                "dropins": List(
                                    Obj({"name": S(required=True), "contents": S()}), "name"
                                ),
                            }
                        ),
                        "name",
                    ),
                }
            ),
            "passwd": Obj(
                {
                    "users": List(
                        Obj(
                            {
                                "name": S(required=True),
                                "passwordHash": S(),
                                "sshAuthorizedKeys": List(S(), "."),
                                "uid": I(),
                                "gecos": S(),
                                "homeDir": S(),
                                "noCreateHome": B(),
                                "primaryGroup": S(),
                                "groups": List(S(), "."),
                                "noUserGroup": B(),
                                "noLogInit": B(),
                                "shell": S(),
                                "system": B(),
                            }
                        ),
                        "name",
                    ),
                    "groups": List(
                        Obj(
                            {
                                "name": S(required=True),
                                "gid": I(),
                                "passwordHash": S(),
                                "system": B(),
                            }
                        ),
                        "name",
                    ),
                }
            ),
        }
    )


def headers() -> List:
    # A header whose value is null deletes the parent's header of that name on merge.
    return List(Obj({"name": S(required=True), "value": S()}), "name")


def tang(*, advertisement: bool) -> List:
    fields: dict[str, Node] = {"url": S(required=True), "thumbprint": S()}
    if advertisement:
        fields["advertisement"] = S()
    return List(Obj(fields), "url")


def luks() -> List:
    return List(
        Obj(
            {
                "name": S(required=True),
                "device": S(required=True),
                "keyFile": Obj(_resource(compression=True).fields | {"httpHeaders": headers()}),
                "label": S(),
                "uuid": S(),
                "options": List(S(), None),
                "wipeVolume": B(),
                "clevis": Obj(
                    {
                        "tang": tang(advertisement=False),
                        "tpm2": B(),
                        "threshold": I(),
                        "custom": Obj({"pin": S(), "config": S(), "needsNetwork": B()}),
                    }
                ),
            }
        ),
        "name",
    )
