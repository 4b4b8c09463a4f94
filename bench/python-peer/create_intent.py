"""The comparison row of `make bench`: `POST /payment/intents` (create or
get back the open intent of a registration the caller owns) written the way
a Python Lambda would be, with boto3 under awslambdaric, on the same table
layout and DynamoDB calls as the Rust function. Not deployed; it only runs
in the bench."""

import base64
import hashlib
import hmac
import json
import os
import time
import uuid

import boto3

TABLE = os.environ["TABLE_NAME"]
JWT_SECRET = os.environ["JWT_SECRET"].encode()
# Clients are made once per container, as in any Lambda.
dynamodb = boto3.client("dynamodb")


def _b64(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _claims(authorization):
    """HS256 token claims, or None when the token is not valid now."""
    if not authorization.startswith("Bearer "):
        return None
    try:
        head, body, signature = authorization[len("Bearer "):].split(".")
        expected = hmac.new(JWT_SECRET, f"{head}.{body}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _b64(signature)):
            return None
        claims = json.loads(_b64(body))
    except ValueError:
        return None
    return claims if claims.get("exp", 0) > time.time() else None


def _answer(status, body):
    return {"statusCode": status, "headers": {"content-type": "application/json"},
            "body": json.dumps(body)}


def handler(event, context):
    claims = _claims((event.get("headers") or {}).get("authorization", ""))
    if claims is None:
        return _answer(401, {"detail": "Not authenticated"})
    try:
        registration = json.loads(event.get("body") or "{}")["registration_id"]
    except (ValueError, KeyError, TypeError):
        return _answer(422, {"detail": [{"loc": ["body", "registration_id"],
                                         "msg": "Field required", "type": "missing"}]})
    key = {"pk": {"S": f"PAYABLE#registration#{registration}"}, "sk": {"S": "PAYABLE"}}
    payable = dynamodb.get_item(TableName=TABLE, Key=key, ConsistentRead=True).get("Item")
    if payable is None or payable["owner_user_id"]["S"] != claims["sub"]:
        return _answer(404, {"detail": "Registration not found"})
    open_intent = payable.get("open_intent_id", {}).get("S")
    if open_intent:
        intent = dynamodb.get_item(
            TableName=TABLE, ConsistentRead=True,
            Key={"pk": {"S": f"INTENT#{open_intent}"}, "sk": {"S": "INTENT"}},
        ).get("Item", {})
        return _answer(200, {"message": "Payment intent already exists",
                             "intent_id": open_intent,
                             "status": intent.get("status", {}).get("S")})
    intent_id = str(uuid.uuid4())
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    dynamodb.transact_write_items(TransactItems=[
        {"Put": {"TableName": TABLE, "ConditionExpression": "attribute_not_exists(pk)",
                 "Item": {"pk": {"S": f"INTENT#{intent_id}"}, "sk": {"S": "INTENT"},
                          "status": {"S": "requires_confirmation"},
                          "payer_user_id": {"S": claims["sub"]},
                          "amount_minor": {"N": payable["amount_minor"]["N"]},
                          "currency": payable["currency"],
                          "created_at": {"S": now}}}},
        {"Update": {"TableName": TABLE, "Key": key,
                    "UpdateExpression": "SET open_intent_id = :id",
                    "ConditionExpression": "attribute_not_exists(open_intent_id)",
                    "ExpressionAttributeValues": {":id": {"S": intent_id}}}},
    ])
    return _answer(201, {"message": "Payment intent created", "intent_id": intent_id,
                         "status": "requires_confirmation"})
