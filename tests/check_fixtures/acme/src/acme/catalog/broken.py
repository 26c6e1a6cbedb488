"""Mentions
import nothing
"""
x = """never closed
