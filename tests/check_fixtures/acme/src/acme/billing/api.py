class PaymentCaptured:
    pass
