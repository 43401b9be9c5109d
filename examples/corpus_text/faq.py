"""Text of the example technical FAQ: Helix Object Storage, an S3-compatible storage service."""

from __future__ import annotations

from corpus_text import Section

TITLE = "Helix Object Storage"
SUBTITLE = "Technical FAQ - updated 15 May 2024"
HEADER = "Helix Object Storage - Technical FAQ"
FOOTER = "Helix Cloud Services AB, Stockholm - docs.helix.example"

REGIONS = [
    ("eu-north-1", "Stockholm", 2019), ("eu-central-1", "Frankfurt", 2020), ("eu-west-1", "Dublin", 2020),
    ("eu-west-2", "Amsterdam", 2022), ("eu-south-1", "Milan", 2023), ("us-east-1", "Virginia", 2021),
    ("ap-east-1", "Singapore", 2024),
]

STORAGE_CLASSES = [
    ("Standard", "0.020", "no minimum storage duration", "no retrieval fee", "milliseconds"),
    ("Infrequent", "0.011", "a minimum storage duration of 30 days", "a retrieval fee of 0.010 euros per GB",
     "milliseconds"),
    ("Archive", "0.004", "a minimum storage duration of 90 days", "a retrieval fee of 0.030 euros per GB",
     "3 to 5 hours"),
    ("Deep Archive", "0.0015", "a minimum storage duration of 180 days",
     "a retrieval fee of 0.050 euros per GB", "up to 12 hours"),
]

ERRORS = [
    ("403 AccessDenied", "the access key has no permission for the bucket or the object",
     "check the key's policy in the console under Access > Keys"),
    ("404 NoSuchBucket", "the bucket name does not exist in the region of the endpoint",
     "use the endpoint of the bucket's region, for example s3.eu-north-1.helix.example"),
    ("409 BucketNotEmpty", "a bucket can only be deleted when it holds no objects and no versions",
     "delete all objects and versions first, or use a lifecycle rule that expires them"),
    ("429 SlowDown", "the account exceeded its request rate",
     "retry with exponential backoff starting at 200 milliseconds"),
    ("503 ServiceUnavailable", "the region is overloaded or under maintenance",
     "retry after the number of seconds given in the Retry-After header"),
]

QUESTIONS = [
    ("What is Helix Object Storage?",
     "Helix Object Storage is an S3-compatible object store operated by Helix Cloud Services AB. Any tool "
     "that speaks the Amazon S3 API, such as the AWS CLI, rclone or the MinIO client, works with it when you "
     "point it at a Helix endpoint. Data is stored in the region you choose and never leaves it."),
    ("How large can an object be?",
     "A single object can be up to 5 TiB. A single PUT request uploads at most 5 GiB; larger objects must be "
     "uploaded with multipart upload in parts of 5 MiB to 5 GiB, with at most 10,000 parts per upload."),
    ("How many buckets can an account have?",
     "Each account can create up to 1,000 buckets. The limit can be raised to 5,000 buckets by a support "
     "request. The number of objects in a bucket is unlimited."),
    ("What are the rules for bucket names?",
     "Bucket names are 3 to 63 characters long and may contain lowercase letters, digits, dots and hyphens. "
     "They must start and end with a letter or digit and be unique within the region."),
    ("How many requests per second are allowed?",
     "Each account may send 3,500 write requests (PUT, COPY, POST, DELETE) and 5,500 read requests (GET, "
     "HEAD) per second per bucket prefix. Requests above the limit receive the error 429 SlowDown."),
    ("How durable is the data?",
     "Objects in the Standard class are stored with erasure coding across 3 availability zones and are "
     "designed for 99.999999999 percent (eleven nines) durability per year. The availability target of the "
     "Standard class is 99.95 percent per month."),
    ("Is my data encrypted?",
     "All objects are encrypted at rest with AES-256 using keys managed by Helix. Customers can supply their "
     "own keys with SSE-C or use keys from the Helix Key Service, which rotates them every 365 days. All "
     "endpoints require TLS 1.2 or newer."),
    ("How does versioning work?",
     "Versioning is enabled per bucket. Once enabled, every overwrite or delete keeps the previous version, "
     "and each version is billed as a separate object. Versioning can be suspended but never fully disabled."),
    ("What is object lock?",
     "Object lock stores objects in write-once-read-many mode. In governance mode, users with the special "
     "permission BypassGovernance can still delete objects; in compliance mode nobody can, not even the "
     "account owner, until the retention period of up to 100 years has passed."),
    ("How do lifecycle rules work?",
     "Lifecycle rules move objects to a cheaper storage class or delete them after a number of days. A "
     "bucket can have up to 1,000 rules. Rules run once a day at 00:00 UTC, so a change can take up to 48 "
     "hours to take effect."),
    ("Can I replicate a bucket to another region?",
     "Yes. Cross-region replication copies new objects to a bucket in another region, typically within 15 "
     "minutes. Replication is billed at 0.02 euros per GB transferred plus the storage in the target region. "
     "Existing objects are copied only when you start a batch replication job."),
    ("What does egress cost?",
     "Downloading data to the internet costs 0.01 euros per GB after the first 1 TB per month, which is free. "
     "Transfers between Helix regions cost 0.005 euros per GB. Uploads are always free."),
    ("How are requests billed?",
     "Write requests cost 0.005 euros per 1,000 requests and read requests 0.0004 euros per 1,000 requests "
     "in every storage class. DELETE requests are free."),
    ("How long do presigned URLs stay valid?",
     "A presigned URL is valid for the time given when it was created, at most 7 days (604,800 seconds). A "
     "URL signed with temporary credentials expires when those credentials expire, whichever comes first."),
    ("How do I get temporary credentials?",
     "Call the Helix token service at sts.helix.example with an access key. It returns credentials valid for "
     "15 minutes to 12 hours, 1 hour by default."),
    ("Which checksums are supported?",
     "Helix accepts and stores CRC32, CRC32C, SHA-1 and SHA-256 checksums sent with uploads. The ETag of an "
     "object uploaded in one PUT is its MD5 hash; for multipart uploads it is not."),
    ("Is there a minimum object size for billing?",
     "In the Standard class there is none. In the Infrequent, Archive and Deep Archive classes every object "
     "is billed as at least 128 KB."),
    ("How do I restore an archived object?",
     "Send a RestoreObject request with the number of days the restored copy should stay available, between "
     "1 and 30 days. A standard restore from Archive takes 3 to 5 hours; an expedited restore takes 1 to 5 "
     "minutes and costs 0.10 euros per GB."),
    ("Where can I see the service status?",
     "The status page at status.helix.example shows the current state of every region. Planned maintenance "
     "is announced there at least 7 days in advance and takes place on Tuesdays between 02:00 and 04:00 "
     "local time of the region."),
    ("Can I host a static website from a bucket?",
     "Yes. Enable website hosting in the bucket settings and set an index document, usually index.html. "
     "The site is served at BUCKET.web.REGION.helix.example over HTTPS. Custom domains need a CNAME record "
     "and a certificate uploaded in the console."),
    ("Does Helix support event notifications?",
     "Buckets can send an event for every created or deleted object to a webhook or to a Helix queue. "
     "Events are delivered at least once, usually within 2 seconds; a webhook that fails is retried for up "
     "to 24 hours."),
    ("What consistency does Helix offer?",
     "Helix offers strong read-after-write consistency for all operations: a GET right after a successful "
     "PUT returns the new object, and a LIST right after a DELETE no longer shows the deleted key."),
    ("How do I move data from another provider?",
     "Use the Helix Migrate service, which copies buckets from any S3-compatible source with up to 10 Gbit/s. "
     "Migration jobs of more than 100 TB can also use the Helix Data Box, a 120 TB appliance shipped within "
     "5 working days for a fee of 250 euros per job."),
    ("Which compliance certifications does Helix hold?",
     "Helix is certified to ISO 27001 and ISO 27017 and holds a SOC 2 Type II report, renewed every year in "
     "October. A data processing agreement under the GDPR is part of the terms of service."),
    ("How do I contact support?",
     "Basic support by e-mail at support@helix.example is included with every account and answers within 24 "
     "hours. Business support costs 10 percent of the monthly bill, at least 100 euros, and answers critical "
     "cases within 1 hour by phone, around the clock."),
]


def sections() -> list[Section]:
    return [
        ("Regions and endpoints", [
            "Helix Object Storage runs in the following regions. The endpoint of each region is "
            "s3.REGION.helix.example, for example s3.eu-central-1.helix.example.",
            *[f"Region {code} is located in {city} and has been available since {year}."
              for code, city, year in REGIONS],
        ]),
        ("Storage classes and prices", [
            "Prices are per GB of stored data per month, in euros, excluding VAT, and are the same in all "
            "European regions; the us-east-1 and ap-east-1 regions cost 10 percent more.",
            *[f"The {name} class costs {price} euros per GB per month. It has {minimum} and {fee}, and it "
              f"serves the first byte in {latency}."
              for name, price, minimum, fee, latency in STORAGE_CLASSES],
        ]),
        ("Frequently asked questions", [block for question, answer in QUESTIONS for block in (question, answer)]),
        ("Common errors", [
            *[f"The error {code} means that {meaning}. To solve it, {fix}." for code, meaning, fix in ERRORS],
        ]),
    ]
