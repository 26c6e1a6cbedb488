class Product:
    pass
