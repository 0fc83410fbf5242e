"""Realistic secrets of every kind that services leak into their errors.

Each sample is the text as a service would write it and the parts of it that
must never come back out. The samples were written by hand after the formats
the issuers document, not derived from the redactor's patterns.
"""

# (kind, text, secrets that must not come back)
TEXT_SAMPLES = [
    (
        "bearer",
        "Authorization: Bearer 7f3a9c2e1b8d4f6a0e5c9b1d",
        ("7f3a9c2e1b8d4f6a0e5c9b1d",),
    ),
    (
        "bearer",
        "curl -H 'Authorization: Bearer ya29.A0ARrdaM-k9Vq7GTMPxQ' failed",
        ("ya29.A0ARrdaM-k9Vq7GTMPxQ",),
    ),
    (
        "bearer",
        "upstream refused bearer sl.BFd7ZkTAbpQ0x3RkLmN2 (401)",
        ("sl.BFd7ZkTAbpQ0x3RkLmN2",),
    ),
    (
        "bearer",
        "headers={'Authorization': 'Bearer 0b79bab50daca910b000d4f1a2b5d8eed'}",
        ("0b79bab50daca910b000d4f1a2b5d8eed",),
    ),
    (
        "bearer",
        "curl -H 'authorization=Bearer qzmvkhtrwplxsdnbfgjy' https://api.example.com/v2/orders",
        ("qzmvkhtrwplxsdnbfgjy",),
    ),
    (
        "bearer",
        "upstream answered 401 to Bearer hxkqpwzmtrvnlbcdsfgy",
        ("hxkqpwzmtrvnlbcdsfgy",),
    ),
    (
        "bearer",
        "auth_header: Token wkdjfhqpzmxnvbcl, retries=3",
        ("wkdjfhqpzmxnvbcl",),
    ),
    (
        "digest",
        'proxy_authorization=Digest username="deploy", realm="api@example.com", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/v1/orders", '
        'response="6629fae49393a05397450978507c4ef1"',
        ("6629fae49393a05397450978507c4ef1", 'username="deploy"'),
    ),
    (
        "digest",
        'Authorization: Digest username="ops", realm="cameras", qop=auth, '
        'nc=00000001, cnonce="0a4f113b", response="a2f7c9e04b1d38e6f5a0c7b9d2e4f618"',
        ("a2f7c9e04b1d38e6f5a0c7b9d2e4f618",),
    ),
    (
        "digest",
        'requests sent Digest username="svc", realm="x", nonce="MTcxNDU2", '
        'uri="/", response="0f3e9a7c1b5d2e8f4a6c0b9d7e3f1a25", algorithm="MD5"',
        ("0f3e9a7c1b5d2e8f4a6c0b9d7e3f1a25",),
    ),
    (
        "basic",
        "Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l",
        ("YWxhZGRpbjpvcGVuc2VzYW1l",),
    ),
    (
        "basic",
        "proxy sent Basic ZGVwbG95OlMzY3JldC1EZXBsb3k= and got 407",
        ("ZGVwbG95OlMzY3JldC1EZXBsb3k",),
    ),
    (
        "url-password",
        "could not connect to postgres://app:Pg-9xTq2LmW@db.internal:5432/app",
        ("Pg-9xTq2LmW",),
    ),
    (
        "url-password",
        "mysql://root:My5ql!RootPw@10.0.0.5:3306/shop refused",
        ("My5ql!RootPw",),
    ),
    (
        "url-password",
        "Error 111 connecting to redis://:r3d1s-Pa55w0rd@cache:6379/0.",
        ("r3d1s-Pa55w0rd",),
    ),
    (
        "url-password",
        "rediss://default:Up5tash9KkQz@eu1-lasting.upstash.io:6379",
        ("Up5tash9KkQz",),
    ),
    (
        "url-password",
        "amqp://guest:Gu3st-Rabbit7@mq.internal:5672/%2F connection reset",
        ("Gu3st-Rabbit7",),
    ),
    (
        "url-password",
        "mongodb+srv://admin:M0ng0-Atl4s-pw@cluster0.ab12c.mongodb.net/orders?retryWrites=true",
        ("M0ng0-Atl4s-pw",),
    ),
    (
        "url-password",
        "cloning https://deploy:gh-Pw-77aaXk@git.example.com/team/repo.git",
        ("gh-Pw-77aaXk",),
    ),
    (
        "url-password",
        "DATABASE_URL=postgresql://orders:p@ss/w0rd!9@10.1.2.3/orders",
        ("p@ss/w0rd!9", "w0rd!9"),
    ),
    (
        "connection-string",
        "host=db.internal port=5432 user=app password=Kv-Secret-8812 dbname=app",
        ("Kv-Secret-8812",),
    ),
    (
        "connection-string",
        "Server=tcp:sql.example.net,1433;Database=shop;User ID=admin;Password=AdoNet#Pw42x;Encrypt=True",
        ("AdoNet#Pw42x",),
    ),
    (
        "connection-string",
        "jdbc:mysql://db:3306/shop?user=shop&password=JdbcPw-5521&useSSL=true",
        ("JdbcPw-5521",),
    ),
    (
        "query-secret",
        "GET https://graph.example.com/v12/me?fields=id&access_token=EAACEdEose0cBA1234xyzQ",
        ("EAACEdEose0cBA1234xyzQ",),
    ),
    (
        "query-secret",
        "POST /oauth/callback?state=abc&client_secret=cs_9f8e7d6c5b4a3f2e",
        ("cs_9f8e7d6c5b4a3f2e",),
    ),
    (
        "query-secret",
        "https://bucket.s3.amazonaws.com/a.png?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=3f5e8a9b7c6d1e2f4a5b",
        ("3f5e8a9b7c6d1e2f4a5b",),
    ),
    (
        "query-secret",
        "https://maps.example.com/api/geocode/json?address=Main+St&api_key=k5a6b7c8d9e0f1a2b",
        ("k5a6b7c8d9e0f1a2b",),
    ),
    (
        "query-secret",
        "https://acct.blob.core.windows.net/c/f.txt?sv=2021-08-06&se=2024-05-02&sig=Wq3r%2FTz9xYkL0pQ%3D",
        ("Wq3r%2FTz9xYkL0pQ",),
    ),
    (
        "jwt",
        "token eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c expired",
        (
            "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
            "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ",
        ),
    ),
    (
        "jwt",
        "id_token=eyJraWQiOiJrMSIsImFsZyI6IlJTMjU2In0.eyJpc3MiOiJodHRwczovL2lkLmV4YW1wbGUuY29tIiwiYXVkIjoid2ViIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        ("dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk",),
    ),
    (
        "jwt",
        "cookie value was eyJhbGciOiJFUzI1NiJ9.eyJ1aWQiOjQyLCJyb2xlIjoiYWRtaW4ifQ.MEUCIQDx4r9kq2b_aZ7 not valid",
        ("MEUCIQDx4r9kq2b_aZ7", "eyJ1aWQiOjQyLCJyb2xlIjoiYWRtaW4ifQ"),
    ),
    (
        "pem",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx9fZc2TjQp8vW1bYp0rT5kLmN3oPq\nR7sTuV9wXyZa1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVw\n-----END RSA PRIVATE KEY-----",
        (
            "MIIEowIBAAKCAQEAx9fZc2TjQp8vW1bYp0rT5kLmN3oPq",
            "R7sTuV9wXyZa1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVw",
        ),
    ),
    (
        "pem",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----",
        ("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",),
    ),
    (
        "pem",
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oSTx1AVOMVl3oAoGCCqGSM49\n",
        ("MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oSTx1AVOMVl3oAoGCCqGSM49",),
    ),
    (
        "aws-access-key",
        "aws_access_key_id AKIAIOSFODNN7EXAMPLE is not valid",
        ("AKIAIOSFODNN7EXAMPLE",),
    ),
    (
        "aws-access-key",
        "InvalidClientTokenId: ASIAQWERTYUIOPASDFGH",
        ("ASIAQWERTYUIOPASDFGH",),
    ),
    (
        "aws-access-key",
        "credentials from AKIAJ4XYZ2QWE7RTY6UI were refused",
        ("AKIAJ4XYZ2QWE7RTY6UI",),
    ),
    (
        "github-token",
        "git push rejected for ghp_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R",
        ("ghp_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R",),
    ),
    (
        "github-token",
        "GH_TOKEN=github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxYZ0123456789abcdefghijklmnopqrst",
        (
            "github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxYZ0123456789abcdefghijklmnopqrst",
        ),
    ),
    (
        "github-token",
        "Bad credentials: gho_16C7e42F292c6912E7710c838347Ae178B4a",
        ("gho_16C7e42F292c6912E7710c838347Ae178B4a",),
    ),
    (
        "slack-token",
        "slack_sdk error using xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy",
        ("pdFZKVeTuE8sk7oOcBrzbqgy",),
    ),
    (
        "slack-token",
        "invalid_auth for xoxp-2631542364-2631542365-2644567788-a1b2c3d4e5f6a7b8",
        ("2644567788-a1b2c3d4e5f6a7b8",),
    ),
    (
        "slack-token",
        "webhook https://hooks.slack.com/services/T024BE7LD/B01ABCDEFGH/Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2 returned 404",
        ("Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2",),
    ),
    (
        "stripe-key",
        "stripe.error.AuthenticationError: Invalid API Key provided: sk_live_51H8kXyLmN0pQrStUvWxYz12",
        ("sk_live_51H8kXyLmN0pQrStUvWxYz12",),
    ),
    (
        "stripe-key",
        "restricted key rk_live_4eC39HqLyjWDarjtT1zdp7dcQ lacks permission",
        ("rk_live_4eC39HqLyjWDarjtT1zdp7dcQ",),
    ),
    (
        "stripe-key",
        "webhook secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw did not verify",
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",),
    ),
    (
        "azure-connection-string",
        "DefaultEndpointsProtocol=https;AccountName=prodstore;AccountKey=lJzRc1YdHaAA2KCNJJ1tkYwF/+mKK6Ygw0NGe170Xu592euJv2wYUtBlV8z+qnlcNQSnIYVTkLWntUO1F8j8rQ==;EndpointSuffix=core.windows.net",
        (
            "lJzRc1YdHaAA2KCNJJ1tkYwF/+mKK6Ygw0NGe170Xu592euJv2wYUtBlV8z+qnlcNQSnIYVTkLWntUO1F8j8rQ",
        ),
    ),
    (
        "azure-connection-string",
        "Endpoint=sb://orders-bus.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=Qm9ndXNLZXlGb3JUZXN0aW5nT25seTEyMzQ1Njc4OTA=",
        ("Qm9ndXNLZXlGb3JUZXN0aW5nT25seTEyMzQ1Njc4OTA",),
    ),
    (
        "card-number",
        "charge declined for card 4111 1111 1111 1111 (visa)",
        ("4111 1111 1111 1111", "4111111111111111"),
    ),
    (
        "card-number",
        "card=5500-0000-0000-0004 exp=12/27",
        ("5500-0000-0000-0004", "5500000000000004"),
    ),
    ("card-number", "amex 378282246310005 refused", ("378282246310005",)),
    ("card-number", "PAN 6011111111111117 flagged", ("6011111111111117",)),
    (
        "journal-ingest-key",
        "JOURNAL_KEY=Hq3LzW8e.V7fK2pXm9RtB4nYc6JsD1gQw5HzA8uLe refused by the journal",
        ("V7fK2pXm9RtB4nYc6JsD1gQw5HzA8uLe",),
    ),
    (
        "sentry-dsn",
        "sentry_sdk.init('https://9f2c41d07be34a6f8d15c3e2a0b7d648@o4505.ingest.sentry.io/4511')",
        ("9f2c41d07be34a6f8d15c3e2a0b7d648",),
    ),
    (
        "sentry-dsn",
        "X-Sentry-Auth: Sentry sentry_version=7, sentry_key=b81d3e9a47c05f2e6a1d94c3f07e28b5",
        ("b81d3e9a47c05f2e6a1d94c3f07e28b5",),
    ),
    (
        "command-line-password",
        "pg_dump --password 'Rep0rt!ng-2024' --host db.internal exited 1",
        ("Rep0rt!ng-2024",),
    ),
    (
        "command-line-password",
        "mysqldump --password=Dump3r#Night --all-databases exited 2",
        ("Dump3r#Night",),
    ),
    (
        "command-line-password",
        "curl -u deploy:Cu7l-Pw-9qz https://api.example.com/v1/hooks",
        ("Cu7l-Pw-9qz",),
    ),
    (
        "url-password",
        "SMTPAuthenticationError: smtp://alice@example.com:Sm7p-Pw-204@smtp.example.com:587",
        ("Sm7p-Pw-204",),
    ),
    (
        "key-in-text",
        "İzmir import failed: DB_PASSWORD=Izm1r-Pw-88 retrying",
        ("Izm1r-Pw-88",),
    ),
    (
        "python-repr",
        "scope headers=[(b'host', b'api'), (b'x-api-key', b'Asg1-Key-5531')]",
        ("Asg1-Key-5531",),
    ),
    (
        "python-repr",
        "login({b'password': b'By7es-Pw-42'})",
        ("By7es-Pw-42",),
    ),
    (
        "xml-element",
        "SOAP fault for <auth><user>ops</user><password>S0ap-Pw-61</password></auth>",
        ("S0ap-Pw-61",),
    ),
    (
        "escaped-json",
        'upstream said "{\\"password\\": \\"Esc4ped-Pw-77\\", \\"user\\": \\"ops\\"}"',
        ("Esc4ped-Pw-77",),
    ),
    (
        "long-quoted-secret",
        '{"session_token": "'
        + "c2Vzc2lvbi1mb3ItdGhlLW5pZ2h0bHktam9i" * 150
        + '", "user": "ops"}',
        ("c2Vzc2lvbi1mb3ItdGhlLW5pZ2h0bHktam9i",),
    ),
]

# Key names under which any value is secret, as services spell them.
SENSITIVE_KEYS = [
    "password",
    "db_password",
    "passwd",
    "secret",
    "client_secret",
    "api_key",
    "apiKey",
    "X-Api-Key",
    "access_token",
    "refreshToken",
    "authorization",
    "Authorization",
    "cookie",
    "Set-Cookie",
    "sessionid",
    "session_token",
    "credentials",
    "private_key",
    "dsn",
    "SENTRY_DSN",
    "auth_token",
    "csrftoken",
    "cvv",
    "card_pin",
    "otp",
    "Ocp-Apim-Subscription-Key",
]

KINDS = frozenset(kind for kind, _, _ in TEXT_SAMPLES) | {"sensitive-key"}
