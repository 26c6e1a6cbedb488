class OrderPlaced:
    pass
