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
print(json.dumps({"instance_ids": instance_ids, "image": image}))
