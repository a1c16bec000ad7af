from setuptools import find_packages, setup

setup(
    name="tap-listrak-soap-rest",
    version="0.1.0",
    description="Singer tap for Listrak: the SOAP API v31 and the Email REST API v1, on one walk",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="AGPL-3.0-or-later",
    python_requires=">=3.11",
    packages=find_packages(include=["tap_listrak", "tap_listrak.*"]),
    package_data={"tap_listrak": ["schemas/*.json", "schemas/rest/*.json", "wsdl/*.wsdl"]},
    install_requires=[
        "singer-python>=6.0,<7",
        "zeep>=4.2,<5",
        "requests>=2.31,<3",  # proxy and CA-bundle settings from the environment
        "urllib3>=2,<3",  # HTTP: kept-alive connections, proxies, TLS, gzip (see transport.py)
        "backoff>=2.2,<3",
        "lxml>=5",
        "orjson>=3.10,<4",  # RECORD lines (orjson.Fragment writes exact decimals)
    ],
    extras_require={
        "test": ["pytest>=8", "pytest-timeout>=2.3", "vcrpy>=6", "jsonschema>=2.6", "PyYAML>=6",
                 "simplejson>=3.13.2,<4"],
    },
    entry_points={"console_scripts": ["tap-listrak=tap_listrak.cli:main"]},
)
