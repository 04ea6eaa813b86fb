"""Passwords, signed session cookies, CSRF tokens, security headers and the login limit."""
