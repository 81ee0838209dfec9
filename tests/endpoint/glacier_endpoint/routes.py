"""Maps REST paths (/{accountId}/vaults/...) to Glacier operation names."""

from urllib.parse import unquote

# Operations of the 2012-06-01 API this endpoint does not implement, by (method, sub-resource).
UNSUPPORTED = {
    ("GET", "access-policy"): "GetVaultAccessPolicy",
    ("PUT", "access-policy"): "SetVaultAccessPolicy",
    ("DELETE", "access-policy"): "DeleteVaultAccessPolicy",
    ("GET", "notification-configuration"): "GetVaultNotifications",
    ("PUT", "notification-configuration"): "SetVaultNotifications",
    ("DELETE", "notification-configuration"): "DeleteVaultNotifications",
    ("GET", "lock-policy"): "GetVaultLock",
    ("POST", "lock-policy"): "InitiateVaultLock",
    ("DELETE", "lock-policy"): "AbortVaultLock",
}


class Route:
    """An operation name plus the identifiers taken from the path."""

    def __init__(self, operation, account=None, vault=None, resource=None):
        self.operation = operation
        self.account = account
        self.vault = vault
        self.resource = resource


def match(method, path, query):
    segments = [unquote(segment) for segment in path.split("/")[1:]]
    if segments and segments[-1] == "":
        segments.pop()
    if len(segments) < 2:
        return Route("Unknown")
    account = segments[0]
    if segments[1] == "policies" and segments[2:] == ["data-retrieval"]:
        return Route({"GET": "GetDataRetrievalPolicy", "PUT": "SetDataRetrievalPolicy"}.get(method, "Unknown"), account)
    if segments[1] == "provisioned-capacity" and len(segments) == 2:
        return Route({"GET": "ListProvisionedCapacity", "POST": "PurchaseProvisionedCapacity"}.get(method, "Unknown"), account)
    if segments[1] != "vaults":
        return Route("Unknown", account)
    rest = segments[2:]
    if not rest:
        return Route("ListVaults" if method == "GET" else "Unknown", account)
    vault, rest = rest[0], rest[1:]
    operation = "Unknown"
    resource = None
    if not rest:
        operation = {"PUT": "CreateVault", "GET": "DescribeVault", "DELETE": "DeleteVault"}.get(method, "Unknown")
    elif rest == ["tags"]:
        if method == "GET":
            operation = "ListTagsForVault"
        elif method == "POST":
            operation = {"add": "AddTagsToVault", "remove": "RemoveTagsFromVault"}.get(query.get("operation"), "Unknown")
    elif rest[0] == "archives":
        if len(rest) == 1 and method == "POST":
            operation = "UploadArchive"
        elif len(rest) == 2 and method == "DELETE":
            operation, resource = "DeleteArchive", rest[1]
    elif rest[0] == "multipart-uploads":
        if len(rest) == 1:
            operation = {"POST": "InitiateMultipartUpload", "GET": "ListMultipartUploads"}.get(method, "Unknown")
        elif len(rest) == 2:
            resource = rest[1]
            operation = {
                "PUT": "UploadMultipartPart", "GET": "ListParts",
                "POST": "CompleteMultipartUpload", "DELETE": "AbortMultipartUpload",
            }.get(method, "Unknown")
    elif rest[0] == "jobs":
        if len(rest) == 1:
            operation = {"POST": "InitiateJob", "GET": "ListJobs"}.get(method, "Unknown")
        elif len(rest) == 2 and method == "GET":
            operation, resource = "DescribeJob", rest[1]
        elif len(rest) == 3 and rest[2] == "output" and method == "GET":
            operation, resource = "GetJobOutput", rest[1]
    elif rest == ["lock-policy", rest[-1]] and method == "POST":
        operation = "CompleteVaultLock"
    elif len(rest) == 1:
        operation = UNSUPPORTED.get((method, rest[0]), "Unknown")
    return Route(operation, account, vault, resource)
