"""What Azure hands a VM, for one test scenario: ``ovf-env.xml``, ``CustomData.bin``, the
IMDS instance document; and the reading of what the VM reported to the Wireserver.

Health reports are decoded from the raw HTTP requests a loopback server recorded, in
both shapes Azure accepts (XML ``comp=health`` and JSON ``/provisioning/health``), so the
assertions do not depend on which simulator served them.
"""

from __future__ import annotations

import base64
import json
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from e2e.services import Request

VM_ID = "6f1c1f5e-2b1e-4c3a-9d55-e2e000000001"


@dataclass(frozen=True)
class Provisioning:
    """One VM's provisioning request, as the user gave it to Azure."""

    user: str
    host: str
    ssh_key: str
    password: str | None = None
    customdata: bytes | None = None
    vm_id: str = VM_ID
    extra_ovf: str = ""
    # osProfile.linuxConfiguration.provisionVMAgent; most e2e VMs go without the agent
    provision_guest_agent: bool = False
    tags: dict[str, str] = field(default_factory=dict)


def ovf_env(p: Provisioning) -> bytes:
    """An ``ovf-env.xml`` shaped like Azure's (default-namespace Azure children)."""
    fields = [
        "<ConfigurationSetType>LinuxProvisioningConfiguration</ConfigurationSetType>",
        f"<HostName>{escape(p.host)}</HostName>",
        f"<UserName>{escape(p.user)}</UserName>",
    ]
    if p.password is not None:
        fields.append(f"<UserPassword>{escape(p.password)}</UserPassword>")
    fields.append(
        "<DisableSshPasswordAuthentication>"
        f"{'false' if p.password else 'true'}</DisableSshPasswordAuthentication>"
    )
    fields.append(
        "<SSH><PublicKeys><PublicKey>"
        "<Fingerprint>0123456789ABCDEF0123456789ABCDEF01234567</Fingerprint>"
        f"<Path>/home/{escape(p.user)}/.ssh/authorized_keys</Path>"
        f"<Value>{escape(p.ssh_key)}</Value>"
        "</PublicKey></PublicKeys></SSH>"
    )
    if p.customdata is not None:
        fields.append(f"<CustomData>{base64.b64encode(p.customdata).decode()}</CustomData>")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" '
        'xmlns:oe="http://schemas.dmtf.org/ovf/environment/1" '
        'xmlns:wa="http://schemas.microsoft.com/windowsazure" '
        'xmlns:i="http://www.w3.org/2001/XMLSchema-instance">\n'
        "<wa:ProvisioningSection><wa:Version>1.0</wa:Version>\n"
        '<LinuxProvisioningConfigurationSet xmlns="http://schemas.microsoft.com/windowsazure">'
        + "".join(fields)
        + p.extra_ovf
        + "</LinuxProvisioningConfigurationSet></wa:ProvisioningSection>\n"
        "<wa:PlatformSettingsSection><wa:Version>1.0</wa:Version>"
        '<PlatformSettings xmlns="http://schemas.microsoft.com/windowsazure">'
        "<KmsServerHostname>kms.core.windows.net</KmsServerHostname>"
        f"<ProvisionGuestAgent>{str(p.provision_guest_agent).lower()}</ProvisionGuestAgent>"
        '<GuestAgentPackageName i:nil="true" />'
        "<PreprovisionedVm>false</PreprovisionedVm>"
        "</PlatformSettings></wa:PlatformSettingsSection>\n"
        "</Environment>\n"
    ).encode()


def media_files(p: Provisioning) -> dict[str, bytes]:
    files = {"ovf-env.xml": ovf_env(p)}
    if p.customdata is not None:
        files["CustomData.bin"] = p.customdata
    return files


def imds_instance(p: Provisioning, *, resource_disk_mib: int = 0) -> dict[str, object]:
    """The IMDS instance document for the same VM (no password: IMDS never has it)."""
    return {
        "compute": {
            "azEnvironment": "AzurePublicCloud",
            "customData": "",
            "location": "westeurope",
            "name": p.host,
            "osProfile": {
                "adminUsername": p.user,
                "computerName": p.host,
                "disablePasswordAuthentication": "false" if p.password else "true",
            },
            "osType": "Linux",
            "publicKeys": [{"keyData": p.ssh_key, "path": f"/home/{p.user}/.ssh/authorized_keys"}],
            "storageProfile": {
                "osDisk": {"diskSizeGB": "2", "osType": "Linux"},
                "resourceDisk": {"size": str(resource_disk_mib)},
            },
            "tags": ";".join(f"{k}:{v}" for k, v in p.tags.items()),
            "userData": "",
            "vmId": p.vm_id,
            "vmSize": "Standard_D2ds_v5",
        },
        "network": {
            "interface": [
                {
                    "macAddress": "525400123456",
                    "ipv4": {
                        "ipAddress": [{"privateIpAddress": "168.0.0.15", "publicIpAddress": ""}],
                        "subnet": [{"address": "168.0.0.0", "prefix": "7"}],
                    },
                    "ipv6": {"ipAddress": []},
                }
            ]
        },
    }


def goal_state(incarnation: int = 1) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<GoalState xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:noNamespaceSchemaLocation="goalstate10.xsd">'
        f"<Version>2012-11-30</Version><Incarnation>{incarnation}</Incarnation>"
        "<Machine><ExpectedState>Started</ExpectedState><StopRolesDeadlineHint>300000"
        "</StopRolesDeadlineHint><LBProbePorts><Port>16001</Port></LBProbePorts>"
        "<ExpectHealthReport>FALSE</ExpectHealthReport></Machine>"
        f"<Container><ContainerId>{uuid.UUID(int=0xE2E)}</ContainerId><RoleInstanceList>"
        f"<RoleInstance><InstanceId>{VM_ID}._e2e</InstanceId><State>Started</State>"
        "<Configuration><HostingEnvironmentConfig>http://168.63.129.16:80/machine/x?comp=config"
        "</HostingEnvironmentConfig><SharedConfig /><ExtensionsConfig /><FullConfig />"
        "<Certificates /><ConfigName>e2e.0.e2e.0._e2e.1.xml</ConfigName></Configuration>"
        "</RoleInstance></RoleInstanceList></Container></GoalState>\n"
    ).encode()


@dataclass(frozen=True)
class HealthReport:
    state: str  # Ready | NotReady
    substatus: str  # "" for Ready, Provisioning, ProvisioningFailed
    description: str


def health_report(req: Request) -> HealthReport | None:
    """Decode a health report from a recorded request, or None for any other request."""
    if req.method != "POST":
        return None
    if "comp=health" in req.path:
        root = ET.fromstring(req.body)

        def text(tag: str) -> str:
            el = root.find(f".//{tag}")
            return (el.text or "").strip() if el is not None else ""

        return HealthReport(text("State"), text("SubStatus"), text("Description"))
    if req.path.rstrip("/").endswith("/provisioning/health"):
        doc = json.loads(req.body)
        details = doc.get("details") or {}
        return HealthReport(
            str(doc.get("state", "")),
            str(details.get("subStatus", "")),
            str(details.get("description", "")),
        )
    return None


def health_reports(requests: list[Request]) -> list[HealthReport]:
    return [r for r in map(health_report, requests) if r is not None]
