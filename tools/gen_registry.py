#!/usr/bin/env python3
"""Generate src/core/ipfix/registry/generated.rs, flowctl's Information Element table.

Sources (facts of the standards and of vendors' published element lists):
  - data/iana-ipfix-information-elements-2025-07.csv  (IANA, committed with the project)
  - ../shared/data/ipfix-registries/antrea-56506.csv  (Antrea, PEN 56506, as vmware/go-ipfix ships it)
  - ../shared/data/ipfix-registries/libfds-*.xml      (CESNET libfds vendor lists: Cisco 9, CERT 6871,
                                                       CESNET 8057, NetScaler 5951, VMware 6876, NetFlow v9)
Derived:
  - RFC 5103 reverse elements (PEN 29305) for every IANA element not in RFC 5103 section 6.1's
    non-reversible list, named "reverse" + the forward name with its first letter capitalised;
  - for vendors whose libfds scope says biflow mode "split" (CERT), reverse elements at id | 0x4000.

Usage: python3 tools/gen_registry.py [--check]
  --check  exit 1 (and say so) when the committed file differs from what would be generated.
"""
import csv
import os
import sys
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared", "data", "ipfix-registries")
IANA_CSV = os.path.join(ROOT, "data", "iana-ipfix-information-elements-2025-07.csv")
OUT = os.path.join(ROOT, "src", "core", "ipfix", "registry", "generated.rs")

PEN_REVERSE = 29305
PEN_ANTREA = 56506
PEN_NETFLOW = 4294967294

# RFC 5103 section 6.1: these are never reversed.
NON_REVERSIBLE = {
    "biflowDirection", "collectorIPv4Address", "collectorIPv6Address", "collectorTransportPort",
    "commonPropertiesId", "exportedMessageTotalCount", "exportedOctetTotalCount",
    "exportedFlowRecordTotalCount", "exporterIPv4Address", "exporterIPv6Address",
    "exporterTransportPort", "exportInterface", "exportProtocolVersion", "exportTransportProtocol",
    "flowId", "flowKeyIndicator", "ignoredPacketTotalCount", "ignoredOctetTotalCount",
    "notSentFlowTotalCount", "notSentPacketTotalCount", "notSentOctetTotalCount",
    "observationDomainId", "observedFlowTotalCount", "paddingOctets", "templateId",
}

# Elements real exporters send that libfds leaves out (its CERT file comments flowAttributes out).
SUPPLEMENT = [
    # (pen, id, name, type, semantics, units)
    (6871, 40, "flowAttributes", "unsigned16", "flags", ""),
]

TYPES = {
    "octetarray": "OctetArray", "unsigned8": "Unsigned8", "unsigned16": "Unsigned16",
    "unsigned32": "Unsigned32", "unsigned64": "Unsigned64", "signed8": "Signed8",
    "signed16": "Signed16", "signed32": "Signed32", "signed64": "Signed64", "float32": "Float32",
    "float64": "Float64", "boolean": "Boolean", "macaddress": "MacAddress", "string": "String",
    "datetimeseconds": "DateTimeSeconds", "datetimemilliseconds": "DateTimeMilliseconds",
    "datetimemicroseconds": "DateTimeMicroseconds", "datetimenanoseconds": "DateTimeNanoseconds",
    "ipv4address": "Ipv4Address", "ipv6address": "Ipv6Address", "basiclist": "BasicList",
    "subtemplatelist": "SubTemplateList", "subtemplatemultilist": "SubTemplateMultiList",
}
SEMANTICS = {
    "": "Default", "default": "Default", "quantity": "Quantity", "totalcounter": "TotalCounter",
    "deltacounter": "DeltaCounter", "identifier": "Identifier", "flags": "Flags", "list": "List",
    "snmpcounter": "SnmpCounter", "snmpgauge": "SnmpGauge",
}


class Element:
    def __init__(self, pen, eid, name, dtype, semantics="", units="", status="current", length=None):
        self.pen, self.id, self.name = pen, eid, name
        self.dtype = TYPES[dtype.strip().lower()]
        self.semantics = SEMANTICS[(semantics or "").strip().lower()]
        self.units = (units or "").strip()
        self.status = "Deprecated" if (status or "").strip().lower() == "deprecated" else "Current"
        self.length = length


def read_iana():
    with open(IANA_CSV, newline="") as f:
        return [Element(0, int(r["elementId"]), r["name"], r["dataType"], r["dataSemantics"],
                        r["units"], r["status"]) for r in csv.DictReader(f)]


def read_antrea():
    with open(os.path.join(SHARED, "antrea-56506.csv"), newline="") as f:
        out = []
        for r in csv.DictReader(f):
            size = (r.get("Data Size") or "").strip()
            out.append(Element(PEN_ANTREA, int(r["ElementID"]), r["Name"], r["Abstract Data Type"],
                               r["Data Type Semantics"], r["Units"], r["Status"],
                               int(size) if size else None))
        return out


def read_libfds(path, iana_ids):
    root = ET.parse(path).getroot()
    scope = root.find("scope")
    pen = int(scope.findtext("pen"))
    biflow = scope.find("biflow")
    split = biflow is not None and biflow.get("mode") == "split"
    out = []
    for el in root.findall("element"):
        eid = int(el.findtext("id"))
        if pen == PEN_NETFLOW and eid in iana_ids:
            continue  # libfds repeats IANA under its NetFlow scope; IANA is the source for those.
        out.append(Element(pen, eid, el.findtext("name").strip(), el.findtext("dataType"),
                           el.findtext("dataSemantics"), el.findtext("units"), el.findtext("status")))
    return out, (pen if split else None)


def title(name):
    return name[:1].upper() + name[1:]


def reverse_of(e, pen, eid):
    r = Element(pen, eid, "reverse" + title(e.name), "octetarray")
    r.dtype, r.semantics, r.units, r.status, r.length = e.dtype, e.semantics, e.units, e.status, e.length
    return r


def build():
    iana = read_iana()
    iana_ids = {e.id for e in iana}
    elements = list(iana)
    elements += [reverse_of(e, PEN_REVERSE, e.id) for e in iana if e.name not in NON_REVERSIBLE]
    elements += read_antrea()
    split_pens = set()
    for fname in sorted(os.listdir(SHARED)):
        if fname.startswith("libfds-") and fname.endswith(".xml"):
            vendor, split = read_libfds(os.path.join(SHARED, fname), iana_ids)
            elements += vendor
            if split is not None:
                split_pens.add(split)
    elements += [Element(*s) for s in SUPPLEMENT]
    have = {(e.pen, e.id) for e in elements}
    for e in list(elements):
        # Split-mode vendors number a reverse element as forward | 0x4000, unless they define that id.
        # Elements that already name a direction ("reverse…", "obsoleteReverse…") have none.
        if "everse" in e.name:
            continue
        if e.pen in split_pens and e.id < 0x4000 and (e.pen, e.id | 0x4000) not in have:
            elements.append(reverse_of(e, e.pen, e.id | 0x4000))
    seen = {}
    for e in elements:
        key = (e.pen, e.id)
        if key in seen:
            sys.exit(f"duplicate element {key}: {seen[key].name} and {e.name}")
        seen[key] = e
    elements.sort(key=lambda e: (e.pen, e.id))
    # Name lookups prefer IANA, then RFC 5103 reverse, then Antrea, then vendors by PEN.
    rank = {0: 0, PEN_REVERSE: 1, PEN_ANTREA: 2}
    by_name = {}
    for idx, e in sorted(enumerate(elements), key=lambda p: (rank.get(p[1].pen, 3), p[1].pen, p[1].id)):
        by_name.setdefault(e.name, idx)
    return elements, sorted(by_name.items())


def render(elements, by_name):
    lines = [
        "// @generated by tools/gen_registry.py: do not edit. The sources and how to regenerate",
        "// are in that script and in data/README.md.",
        "",
        "use super::InformationElement as Ie;",
        "use crate::core::ipfix::types::DataType::*;",
        "use crate::core::ipfix::types::Semantics::*;",
        "use crate::core::ipfix::types::Status::*;",
        "",
        f"pub(super) static ELEMENTS: [Ie; {len(elements)}] = [",
    ]
    for e in elements:
        length = "None" if e.length is None else f"Some({e.length})"
        lines.append(f"    Ie::new({e.pen}, {e.id}, {e.name!r}, {e.dtype}, {e.semantics}, {e.units!r}, {e.status}, {length}),".replace("'", '"'))
    lines.append("];")
    lines.append("")
    lines.append(f"pub(super) static BY_NAME: [(&str, u16); {len(by_name)}] = [")
    for name, idx in by_name:
        lines.append(f'    ("{name}", {idx}),')
    lines.append("];")
    return "\n".join(lines) + "\n"


def main():
    text = render(*build())
    if "--check" in sys.argv:
        with open(OUT) as f:
            if f.read() != text:
                sys.exit("src/core/ipfix/registry/generated.rs is stale: run python3 tools/gen_registry.py")
        return
    with open(OUT, "w") as f:
        f.write(text)
    print(f"wrote {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
