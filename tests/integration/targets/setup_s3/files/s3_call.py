# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One boto3 S3 call against the local endpoint, for what no module does (retention, legal holds, versions, a
restore started by someone else): s3_call.py URL OPERATION JSON-ARGUMENTS; prints the reply as JSON."""

import json
import sys

import boto3
import botocore.config


def main():
    url, operation, arguments = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    s3 = boto3.client('s3', endpoint_url=url, region_name='us-east-1', aws_access_key_id='AKIACOLDVAULTTEST001',
                      aws_secret_access_key='x', config=botocore.config.Config(s3={'addressing_style': 'path'}))
    if 'Body' in arguments:
        arguments['Body'] = arguments['Body'].encode('utf-8')
    reply = getattr(s3, operation)(**arguments)
    reply.pop('ResponseMetadata', None)
    reply.pop('Body', None)
    print(json.dumps(reply, default=str))


if __name__ == '__main__':
    main()
