"""The OpenAPI document's links: each one names a real operation and real parameters."""

from __future__ import annotations

import httpx

from tenantry.openapi import LINKS


async def test_every_link_names_an_operation_and_its_parameters(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    broken: list[str] = []
    seen = 0
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                for name, link in response.get("links", {}).items():
                    seen += 1
                    source = f"{method.upper()} {path} {status} {name}"
                    target_path, target_method = _resolve(link["operationRef"])
                    target = spec["paths"].get(target_path, {}).get(target_method)
                    if target is None:
                        broken.append(f"{source}: no {link['operationRef']}")
                        continue
                    known = {f"{p['in']}.{p['name']}" for p in target.get("parameters", [])}
                    known |= {p["name"] for p in target.get("parameters", []) if p["in"] == "path"}
                    broken += [f"{source}: {p}" for p in link["parameters"] if p not in known]
    assert broken == []
    assert seen == sum(len(links) for links in LINKS.values())


async def test_a_new_product_links_to_its_read_update_and_delete(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    created = spec["paths"]["/organizations/{org_id}/products"]["post"]["responses"]["201"]
    links = created["links"]
    assert set(links) == {"read_product", "update_product", "delete_product"}
    # The organization comes from the request: the new product's `id` is not an org id.
    assert links["update_product"]["parameters"] == {
        "org_id": "$request.path.org_id",
        "product_id": "$response.body#/id",
        "header.if-match": "$response.header.ETag",
    }


def _resolve(reference: str) -> tuple[str, str]:
    pointer, method = reference.removeprefix("#/paths/").rsplit("/", 1)
    return pointer.replace("~1", "/").replace("~0", "~"), method
