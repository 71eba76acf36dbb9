"""The asset register: equipment and places, devices, life cycle, documents, CSV, repairs."""
