"""Vault operations, tags, common request checks and error bodies."""

import json

import pytest
from botocore.exceptions import ClientError

from endpoint_helpers import error_of, make_client, raw_request

ARN = "arn:aws:glacier:us-east-1:123456789012:vaults/"


def test_vault_lifecycle(glacier):
    created = glacier.create_vault(vaultName="photos")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["location"] == "/123456789012/vaults/photos"
    assert glacier.create_vault(accountId="123456789012", vaultName="photos")["location"] == created["location"]
    described = glacier.describe_vault(vaultName="photos")
    assert described["VaultARN"] == ARN + "photos"
    assert described["VaultName"] == "photos"
    assert described["NumberOfArchives"] == 0 and described["SizeInBytes"] == 0
    assert described["CreationDate"].endswith("Z")
    headers = described["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-requestid"] == headers["x-amz-request-id"] == described["ResponseMetadata"]["RequestId"]
    deleted = glacier.delete_vault(vaultName="photos")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as caught:
        glacier.describe_vault(vaultName="photos")
    assert error_of(caught) == ("ResourceNotFoundException", "Vault not found for ARN: " + ARN + "photos", 404)


def test_list_vaults_is_sorted_and_paginated(glacier):
    names = ["vault-%02d" % number for number in range(12)]
    for name in reversed(names):
        glacier.create_vault(vaultName=name)
    first = glacier.list_vaults()
    assert [item["VaultName"] for item in first["VaultList"]] == names[:10]
    assert first["Marker"] == ARN + "vault-10"
    rest = glacier.list_vaults(marker=first["Marker"])
    assert [item["VaultName"] for item in rest["VaultList"]] == names[10:]
    assert "Marker" not in rest
    seen, marker = [], None
    while True:
        page = glacier.list_vaults(limit="5", **({"marker": marker} if marker else {}))
        assert len(page["VaultList"]) <= 5
        seen += [item["VaultName"] for item in page["VaultList"]]
        marker = page.get("Marker")
        if not marker:
            break
    assert seen == names
    with pytest.raises(ClientError) as caught:
        glacier.list_vaults(limit="0")
    assert error_of(caught)[0] == "InvalidParameterValueException"


def test_delete_vault_refuses_a_non_empty_vault(glacier, vault):
    archive_id = glacier.upload_archive(vaultName=vault, body=b"x")["archiveId"]
    with pytest.raises(ClientError) as caught:
        glacier.delete_vault(vaultName=vault)
    assert error_of(caught) == ("InvalidParameterValueException", "Vault not empty or recently written to: " + ARN + vault, 400)
    glacier.delete_archive(vaultName=vault, archiveId=archive_id)
    glacier.delete_vault(vaultName=vault)


def test_tags(glacier, vault):
    glacier.add_tags_to_vault(vaultName=vault, Tags={"team": "ops", "tier": "cold"})
    assert glacier.list_tags_for_vault(vaultName=vault)["Tags"] == {"team": "ops", "tier": "cold"}
    glacier.add_tags_to_vault(vaultName=vault, Tags={"team": "backup"})
    glacier.remove_tags_from_vault(vaultName=vault, TagKeys=["tier", "absent"])
    assert glacier.list_tags_for_vault(vaultName=vault)["Tags"] == {"team": "backup"}
    with pytest.raises(ClientError) as caught:
        glacier.add_tags_to_vault(vaultName=vault, Tags={"k%d" % number: "v" for number in range(10)})
    assert error_of(caught)[0] == "LimitExceededException"
    with pytest.raises(ClientError) as caught:
        glacier.list_tags_for_vault(vaultName="missing")
    assert error_of(caught)[0] == "ResourceNotFoundException"


@pytest.mark.parametrize("name", ["has space", "slash/in", "x" * 256, "colon:name"])
def test_invalid_vault_names_are_rejected(endpoint, name):
    status, _headers, body = raw_request(endpoint, "PUT", "/-/vaults/" + name.replace(" ", "%20").replace("/", "%2F"))
    assert status == 400
    assert json.loads(body) == {"code": "InvalidParameterValueException", "message": "Invalid vault name: " + name, "type": "Client"}


def test_common_request_checks(endpoint, glacier):
    status, headers, body = raw_request(endpoint, "GET", "/-/vaults", sign=False)
    assert (status, json.loads(body)["code"]) == (400, "MissingAuthenticationTokenException")
    assert headers["content-type"] == "application/json"
    status, _headers, body = raw_request(endpoint, "GET", "/-/vaults", headers={"x-amz-glacier-version": "2011-01-01"})
    assert (status, json.loads(body)["code"]) == (400, "InvalidParameterValueException")
    status, _headers, body = raw_request(endpoint, "GET", "/999999999999/vaults")
    assert (status, json.loads(body)["code"]) == (403, "AccessDeniedException")
    status, _headers, body = raw_request(endpoint, "GET", "/-/vaults/v/unknown-thing")
    assert status == 400
    with pytest.raises(ClientError) as caught:
        glacier.get_vault_access_policy(vaultName="v")
    assert error_of(caught)[0] == "UnsupportedOperation"


def test_account_id_and_region_flags(start_endpoint):
    endpoint = start_endpoint("--account-id", "111122223333", "--region", "eu-west-1")
    client = make_client(endpoint)
    assert client.create_vault(vaultName="v")["location"] == "/111122223333/vaults/v"
    assert client.describe_vault(accountId="111122223333", vaultName="v")["VaultARN"] == "arn:aws:glacier:eu-west-1:111122223333:vaults/v"
