"""A labeled corpus of committed lines: real-looking secrets, possible secrets and neither.

Every key-shaped value is made up and built at run time (a prefix joined to
seeded random characters), so this file holds nothing a secret scanner would
flag: even the documented examples and key headers are split in two.

Each case is ``(path, line, expected)``, with ``expected`` one of ``SECRET``
(poisons the pet), ``POSSIBLE`` (reported, never poisons) or ``NONE``.
"""

from __future__ import annotations

import random
import string

SECRET, POSSIBLE, NONE = "secret", "possible", "none"
ALNUM = string.ascii_letters + string.digits
UPPER = string.ascii_uppercase + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"


def fake(alphabet: str, length: int, seed: int) -> str:
    """A random-looking, made-up value (never a real credential)."""
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(length))


def pem(kind: str = "") -> str:
    """A private key header, split so that this file never holds one whole."""
    return "-----BEGIN " + (kind + " " if kind else "") + "PRIVATE" + " KEY-----"


class _Keys:
    """Fresh fake tokens of each documented format, one seed each."""

    def __init__(self) -> None:
        self.seed = 1000

    def _next(self, alphabet: str, length: int) -> str:
        self.seed += 1
        return fake(alphabet, length, self.seed)

    def github(self, prefix: str = "ghp_") -> str:
        return prefix + self._next(ALNUM, 36)

    def pat(self) -> str:
        return "github_" + "pat_" + self._next(ALNUM, 22) + "_" + self._next(ALNUM, 59)

    def aws_id(self, prefix: str = "AKIA") -> str:
        return prefix + self._next(UPPER, 16)

    def aws_secret(self) -> str:
        return self._next(B64, 40)

    def google(self) -> str:
        return "AI" + "za" + self._next(ALNUM + "-_", 35)

    def oauth(self) -> str:
        return "GOCSPX" + "-" + self._next(ALNUM + "-_", 28)

    def slack(self, kind: str = "b") -> str:
        return f"xox{kind}-" + self._next(string.digits, 12) + "-" + self._next(ALNUM, 24)

    def webhook(self) -> str:
        path = (
            "T" + self._next(UPPER, 9) + "/B" + self._next(UPPER, 9) + "/" + self._next(ALNUM, 24)
        )
        return "https://hooks.slack.com/" + "services/" + path

    def stripe(self, prefix: str = "sk_live_") -> str:
        return prefix + self._next(ALNUM, 24)

    def pem_body(self) -> str:
        return "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" + self._next(B64, 48)

    def random(self, length: int = 32, alphabet: str = ALNUM) -> str:
        return self._next(alphabet, length)


def _secrets(k: _Keys) -> list[tuple[str, str, str]]:
    """Real-looking keys in source, configuration and build files."""
    return [
        ("app/config.py", f'TOKEN = "{k.github()}"', SECRET),
        (".env", f"GITHUB_TOKEN={k.github()}", SECRET),
        ("deploy/values.yaml", f"token: {k.github('gho_')}", SECRET),
        ("src/client.ts", f"const token = '{k.github('ghu_')}';", SECRET),
        (".github/workflows/ci.yml", f"      GH_TOKEN: {k.github('ghs_')}", SECRET),
        ("auth/refresh.py", f'REFRESH = "{k.github("ghr_")}"', SECRET),
        ("scripts/deploy.sh", f"export GH_PAT={k.pat()}", SECRET),
        ("terraform/main.tf", f'  access_key = "{k.aws_id()}"', SECRET),
        ("src/aws.go", f'const keyID = "{k.aws_id("ASIA")}"', SECRET),
        ("web/s3.js", f'  accessKeyId: "{k.aws_id()}",', SECRET),
        ("config/credentials", f"aws_secret_access_key = {k.aws_secret()}", SECRET),
        (".env.production", f"AWS_SECRET_ACCESS_KEY={k.aws_secret()}", SECRET),
        ("server/gemini.py", f'GEMINI_API_KEY = "{k.google()}"', SECRET),
        ("backend/youtube.py", f'YOUTUBE_API_KEY = "{k.google()}"', SECRET),
        ("res/values/keys.xml", f'<string name="translate_api_key">{k.google()}</string>', SECRET),
        ("config/oauth.json", f'  "client_secret": "{k.oauth()}",', SECRET),
        (".env", f"GOOGLE_CLIENT_SECRET={k.oauth()}", SECRET),
        ("bot/app.js", f"const slack = new App({{ token: '{k.slack()}' }});", SECRET),
        ("bot/settings.py", f'SLACK_USER_TOKEN = "{k.slack("p")}"', SECRET),
        ("bot/legacy.rb", f"SLACK = '{k.slack('a')}'", SECRET),
        ("alerts/notify.py", f'WEBHOOK = "{k.webhook()}"', SECRET),
        (".github/workflows/notify.yml", f"          url: {k.webhook()}", SECRET),
        ("payments/stripe.rb", f"Stripe.api_key = '{k.stripe()}'", SECRET),
        ("billing/config.php", f"$key = '{k.stripe('rk_live_')}';", SECRET),
        ("app/settings.py", f'STRIPE_SECRET_KEY = "{k.stripe("sk_test_")}"', SECRET),
        ("gcp/service.json", f'  "private_key": "{pem()}\\n{k.pem_body()}\\n",', SECRET),
        ("app/github_app.py", f'KEY = "{pem("RSA")}\\n{k.pem_body()}"', SECRET),
        ("src/keys.go", f'var signer = "{pem("EC")}\\n{k.pem_body()}"', SECRET),
        ("infra/vars.yml", f'deploy_key: "{pem("OPENSSH")}\\n{k.pem_body()}"', SECRET),
        ("app/oauth.py", f'client_secret = "{k.random()}"', SECRET),
        ("settings/production.py", f'DB_PASSWORD = "{k.random(28)}"', SECRET),
        ("config/production.json", f'  "api_key": "{k.random(40, HEX)}",', SECRET),
        ("config/secrets.yml", f"  secret_key_base: '{k.random(64, HEX)}'", SECRET),
        ("lib/db.rb", f"  password => '{k.random(30)}',", SECRET),
        ("src/Api.java", f'    private final String apiKey = "{k.random()}";', SECRET),
        ("pkg/auth.go", f'const authToken = "{k.random(40)}"', SECRET),
        ("src/api.ts", f'export const accessKey = "{k.random(36)}";', SECRET),
        ("mysite/settings.py", f'SECRET_KEY = "{k.random(50)}"', SECRET),
        ("app/hooks.py", f'webhook_secret = "{k.random(32)}"', SECRET),
        ("Dockerfile", f'ENV API_TOKEN="{k.random(40)}"', SECRET),
        ("src/credentials.py", f'credential = "{k.random(44, B64)}"', SECRET),
        ("dist/app.js", f'var t="{k.github()}";', SECRET),  # a key in a bundle still leaks
        ("app/maps_admin.py", f'MAPS_ADMIN_SECRET = "{k.random(32)}"', SECRET),
        ("web/firebase.js", f'const firebaseDatabaseSecret = "{k.random(40)}";', SECRET),
    ]


def _possible(k: _Keys) -> list[tuple[str, str, str]]:
    """Keys where keys are not live: tests, docs, placeholders, publishable keys."""
    aws_example_id = "AKIA" + "IOSFODNN7EXAMPLE"
    aws_example_secret = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
    return [
        ("tests/test_auth.py", f'TOKEN = "{k.github()}"', POSSIBLE),
        ("tests/fixtures/config.json", f'  "key": "{k.aws_id()}",', POSSIBLE),
        ("pkg/testdata/aws.go", f'const id = "{k.aws_id()}"', POSSIBLE),
        ("spec/fixtures/stripe.yml", f"key: {k.stripe()}", POSSIBLE),
        ("src/__mocks__/slack.js", f"export const token = '{k.slack()}';", POSSIBLE),
        ("e2e/login.spec.ts", f"const key = '{k.google()}';", POSSIBLE),
        ("integration_tests/helpers.py", f'client_secret = "{k.random()}"', POSSIBLE),
        ("test-data/service.json", f'  "private_key": "{pem()}\\n{k.pem_body()}",', POSSIBLE),
        ("certs/test-ca.key.json", f'"key": "{pem("RSA")}\\n{k.pem_body()}"', POSSIBLE),
        ("src/auth_test.go", f'const tok = "{k.github()}"', POSSIBLE),
        ("docs/setup.md", f"export GITHUB_TOKEN={k.github()}", POSSIBLE),
        ("README.md", f"AWS_ACCESS_KEY_ID={k.aws_id()}", POSSIBLE),
        ("docs/conf/app.py", f'api_key = "{k.random()}"', POSSIBLE),
        ("examples/basic/main.go", f'hook := "{k.webhook()}"', POSSIBLE),
        ("CONTRIBUTING.rst", f"    STRIPE_KEY={k.stripe()}", POSSIBLE),
        ("app/config.py", f'AWS_ID = "{aws_example_id}"', POSSIBLE),
        ("app/config.py", f'aws_secret_access_key = "{aws_example_secret}"', POSSIBLE),
        ("app/config.py", f'TOKEN = "ghp_{"0" * 36}"', POSSIBLE),
        ("app/config.py", f'TOKEN = "ghp_{"x" * 36}"', POSSIBLE),
        ("app/config.py", f'TOKEN = "ghp_{"ab" * 18}"', POSSIBLE),
        ("app/config.py", 'AWS_ID = "AKIA' + 'ABCDEFGHIJKLMNOP"', POSSIBLE),
        ("app/billing.py", 'STRIPE = "sk_live_' + '1234567890abcdef12345678"', POSSIBLE),
        ("app/billing.py", 'STRIPE = "sk_live_' + f'yourkeygoeshere{k.random(12)}"', POSSIBLE),
        ("app/config.py", 'api_key = "<your-api-key-goes-here-123>"', POSSIBLE),
        ("app/config.py", 'password = "changeme-changeme-1234567"', POSSIBLE),
        ("app/config.py", f'client_secret = "{"x" * 32}"', POSSIBLE),
        (
            "app/keys.py",
            f'KEY = "{pem()}\\nMIIEvgIBADANxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"',
            POSSIBLE,
        ),
        ("app/settings.py", f'STRIPE_PUBLISHABLE_KEY = "{k.stripe("pk_live_")}"', POSSIBLE),
        ("web/checkout.js", f"const stripe = Stripe('{k.stripe('pk_test_')}');", POSSIBLE),
        ("app/settings.py", f'GOOGLE_MAPS_API_KEY = "{k.google()}"', POSSIBLE),
        (
            "templates/index.html",
            f'<script src="https://maps.googleapis.com/maps/api/js?key={k.google()}"></script>',
            POSSIBLE,
        ),
        ("web/firebase.js", f'const firebaseConfig = {{ apiKey: "{k.google()}" }};', POSSIBLE),
        ("app/search.py", f'ALGOLIA_SEARCH_API_KEY = "{k.random(32, HEX)}"', POSSIBLE),
        ("web/search.ts", f"  algoliaSearchOnlyApiKey: '{k.random(32, HEX)}',", POSSIBLE),
        (
            "web/map.js",
            f'MAPBOX_ACCESS_TOKEN = "pk.eyJ1Ijoi{k.random(20)}.{k.random(22)}"',
            POSSIBLE,
        ),
        ("node_modules/jws/test/keys.json", f'"k": "{k.github()}"', POSSIBLE),
    ]


def _neither() -> list[tuple[str, str, str]]:
    """Lines that hold no key at all, though they look a little like it."""
    return [
        ("app/config.py", "oauth_url = 'https://github.test/login/oauth/authorize?x=1'", NONE),
        ("app/config.py", 'token = "aaaaaaaaaaaaaaaaaaaaaaaaaaaa"', NONE),
        ("app/config.py", "name = 'ghp_short'", NONE),
        ("app/config.py", 'password = "${DB_PASSWORD_FROM_THE_ENVIRONMENT}"', NONE),
        (".github/workflows/release.yml", 'token: "{{ secrets.GITHUB_TOKEN_FOR_RELEASES }}"', NONE),
        ("app/config.py", 'SECRET_KEY_PATH = "/etc/tamagitto/keys/secret.pem"', NONE),
        ("app/http.py", 'api_key_header = "X-Example-Api-Key-Header-Name"', NONE),
        ("app/http.py", 'TOKEN_TYPE = "bearer_token_for_the_service"', NONE),
        ("app/git.py", f'commit_sha = "{fake(HEX, 40, 7)}"', NONE),
        ("app/keys.py", f'HEADER = "{pem()}"', NONE),
        ("app/keys.py", 'KEY = "AI' + 'zaFake"', NONE),
        ("app/ssh.py", 'SSH_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI comment"', NONE),
        ("app/forms.py", 'password_field = "password_confirmation_input"', NONE),
        ("app/release.py", 'github_token_env = "GITHUB_TOKEN_FOR_THE_RELEASE_JOB"', NONE),
    ]


def corpus() -> list[tuple[str, str, str]]:
    """Every case of the corpus, built afresh (the same values on every call)."""
    keys = _Keys()
    return _secrets(keys) + _possible(keys) + _neither()
