"""Seeds moto with what the aws-mcp tests read: instances, DB instances, EKS clusters, metrics
and log events (some of them carrying secrets the server must scrub).

usage: python seed.py MOTO_URL REGION       prints a JSON summary of what it created
"""
import json
import sys
import time

import boto3

url, region = sys.argv[1], sys.argv[2]
kw = dict(endpoint_url=url, region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing")
ec2 = boto3.client("ec2", **kw)
image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
run = ec2.run_instances(
    ImageId=image, MinCount=2, MaxCount=2, InstanceType="t3.micro",
    TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web"}]}],
)
instance_ids = [i["InstanceId"] for i in run["Instances"]]
ec2.stop_instances(InstanceIds=instance_ids[1:])

rds = boto3.client("rds", **kw)
rds.create_db_instance(
    DBInstanceIdentifier="orders-db", DBInstanceClass="db.t3.medium", Engine="postgres",
    MasterUsername="admin", MasterUserPassword="not-shown-anywhere", AllocatedStorage=20,
)

eks = boto3.client("eks", **kw)
eks.create_cluster(
    name="platform", version="1.31", roleArn="arn:aws:iam::123456789012:role/eks",
    resourcesVpcConfig={"subnetIds": ["subnet-1", "subnet-2"]},
)

now = time.time()
cw = boto3.client("cloudwatch", **kw)
cw.put_metric_data(
    Namespace="AWS/EC2",
    MetricData=[
        {"MetricName": "CPUUtilization", "Dimensions": [{"Name": "InstanceId", "Value": instance_ids[0]}],
         "Timestamp": now - 60 * m, "Value": 10.0 + m, "Unit": "Percent"}
        for m in range(1, 20)
    ],
)

logs = boto3.client("logs", **kw)
logs.create_log_group(logGroupName="/app/orders")
logs.create_log_stream(logGroupName="/app/orders", logStreamName="web-1")
messages = [
    "INFO started in 120ms",
    "ERROR payment failed for order 42",
    "DEBUG using key AKIAIOSFODNN7EXAMPLE to sign",
    "WARN retrying postgres://orders:hunter2@db.internal:5432/orders",
    "ERROR Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl rejected",
]
logs.put_log_events(
    logGroupName="/app/orders", logStreamName="web-1",
    logEvents=[{"timestamp": int((now - 300 + i) * 1000), "message": m} for i, m in enumerate(messages)],
)
# Private keys printed to a log arrive one line per event, other streams' events in between:
# an RSA key and a PGP key block in stream app-1, app-2 interleaved, and an OpenSSH key in
# app-3 whose END line never came. The body is random (a fixed seed) base64, as real key
# material is.
import base64
import random

rng = random.Random(7)


def body(lines):
    raw = bytes(rng.getrandbits(8) for _ in range(48 * lines + 15))
    text = base64.b64encode(raw).decode()
    return [text[i:i + 64] for i in range(0, len(text), 64)]


rsa, pgp, ssh = body(4), body(3), body(3)
logs.create_log_group(logGroupName="/app/keys")
for stream in ("app-1", "app-2", "app-3"):
    logs.create_log_stream(logGroupName="/app/keys", logStreamName=stream)
base = int((now - 600) * 1000)
app1 = ["INFO boot", "-----BEGIN RSA PRIVATE KEY-----", *rsa, "-----END RSA PRIVATE KEY-----",
        "INFO after key", "-----BEGIN PGP PRIVATE KEY BLOCK-----", "Version: GnuPG v2", *pgp, "=Xb3f",
        "-----END PGP PRIVATE KEY BLOCK-----", "INFO after pgp"]
app1_times = [base + 1000 * i for i in range(len(app1))]
logs.put_log_events(logGroupName="/app/keys", logStreamName="app-1",
                    logEvents=[{"timestamp": t, "message": m} for t, m in zip(app1_times, app1)])
app2 = ["INFO other stream 1", "INFO other stream 2"]
logs.put_log_events(logGroupName="/app/keys", logStreamName="app-2",
                    logEvents=[{"timestamp": base + 2500 + 1000 * i, "message": m} for i, m in enumerate(app2)])
app3 = ["-----BEGIN OPENSSH PRIVATE KEY-----", *ssh]
logs.put_log_events(logGroupName="/app/keys", logStreamName="app-3",
                    logEvents=[{"timestamp": base + 60000 + 1000 * i, "message": m} for i, m in enumerate(app3)])

print(json.dumps({
    "instance_ids": instance_ids, "image": image,
    "key_lines": rsa + pgp + ssh,
    # The first RSA body line: a window starting here holds the key without its BEGIN line.
    "key_body_start_ms": app1_times[2],
    "kept_lines": ["INFO boot", "INFO after key", "INFO after pgp", *app2],
}))
