"""adscreen: screening of ads and platform listings for illegal-fundraising promotions (非法集资宣传)."""

__version__ = "0.1.0"
