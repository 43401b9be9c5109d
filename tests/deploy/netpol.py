"""A small evaluator of Kubernetes NetworkPolicy semantics for the policy tests.

It answers "may a pod with these labels in this namespace open a TCP connection to that pod on that
port?" the way a conforming CNI would: traffic is allowed in a direction when no policy selects the
pod for that direction, or when at least one selecting policy has a rule whose peers and ports match.
Supports what the chart uses: label selectors (matchLabels, matchExpressions), ipBlock, numeric ports.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

Policy = dict[str, Any]


@dataclass(frozen=True)
class Pod:
    labels: dict[str, str]
    namespace: str = "doc2slm"
    namespace_labels: dict[str, str] = field(default_factory=dict)
    ip: str = "10.0.0.10"

    def ns_labels(self) -> dict[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace, **self.namespace_labels}


def _expression_holds(expression: dict[str, Any], labels: dict[str, str]) -> bool:
    key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    if operator == "In":
        return labels.get(key) in values
    if operator == "NotIn":
        return labels.get(key) not in values
    raise ValueError(f"unknown selector operator {operator}")


def _matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return True
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items()) and all(
        _expression_holds(e, labels) for e in selector.get("matchExpressions") or [])


def _peer_matches(peer: dict[str, Any], other: Pod, policy_namespace: str) -> bool:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        address = ipaddress.ip_address(other.ip)
        inside = address in ipaddress.ip_network(block["cidr"])
        return inside and not any(address in ipaddress.ip_network(c) for c in block.get("except", []))
    if "namespaceSelector" in peer:
        if not _matches(peer["namespaceSelector"], other.ns_labels()):
            return False
    elif other.namespace != policy_namespace:
        return False
    return _matches(peer.get("podSelector"), other.labels)


def _port_matches(ports: list[dict[str, Any]] | None, port: int) -> bool:
    return not ports or any(p.get("port") in (None, port) and p.get("protocol", "TCP") == "TCP" for p in ports)


def _allowed(policies: list[Policy], pod: Pod, other: Pod, port: int, direction: str) -> bool:
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    selecting = [
        p for p in policies
        if p["metadata"].get("namespace", pod.namespace) == pod.namespace
        and direction in p["spec"].get("policyTypes", ["Ingress"])
        and _matches(p["spec"]["podSelector"], pod.labels)
    ]
    if not selecting:
        return True
    for policy in selecting:
        namespace = policy["metadata"].get("namespace", pod.namespace)
        for rule in policy["spec"].get(rules_key) or []:
            peers = rule.get(peers_key)
            peer_ok = not peers or any(_peer_matches(peer, other, namespace) for peer in peers)
            if peer_ok and _port_matches(rule.get("ports"), port):
                return True
    return False


def connection_allowed(policies: list[Policy], source: Pod, destination: Pod, port: int) -> bool:
    """Both the source's egress and the destination's ingress must allow the connection."""
    return (_allowed(policies, source, destination, port, "Egress")
            and _allowed(policies, destination, source, port, "Ingress"))
