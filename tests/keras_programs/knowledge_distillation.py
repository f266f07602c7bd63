"""Knowledge distillation with keras.distillation: a student trained on the
labels and on a frozen teacher's logits and hidden features."""
import numpy as np

import keras
from keras import layers
from keras.distillation import Distiller, FeatureDistillation, LogitsDistillation

rng = np.random.default_rng(5)
inputs = keras.Input((6,))
features = layers.Dense(8, activation="relu", name="features")(layers.Dense(12, activation="relu")(inputs))
teacher = keras.Model(inputs, layers.Dense(4)(features), name="teacher")
inputs = keras.Input((6,))
features = layers.Dense(8, activation="tanh", name="student_features")(inputs)
student = keras.Model(inputs, layers.Dense(4)(features), name="student")
for model in (teacher, student):
    model.set_weights([rng.normal(0, 0.4, w.shape).astype("float32") for w in model.get_weights()])

distiller = Distiller(
    teacher, student,
    [LogitsDistillation(temperature=2.5, loss=keras.losses.KLDivergence()),
     FeatureDistillation("mse", teacher_layer_name="features", student_layer_name="student_features")],
    distillation_loss_weights=[1.0, 0.25], student_loss_weight=0.4)
distiller.compile(optimizer=keras.optimizers.SGD(0.05),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
x = rng.normal(size=(40, 6)).astype("float32")
y = rng.integers(0, 4, size=(40,))
before = distiller.evaluate(x, y, batch_size=10, verbose=0, return_dict=True)
history = distiller.fit(x, y, epochs=2, batch_size=10, shuffle=False, verbose=0)
result = {
    "before": before,
    "loss": history.history["loss"],
    "student_loss": history.history["student_loss"],
    "distillation_loss": history.history["distillation_loss"],
    "prediction": distiller.student.predict(x[:3], verbose=0),
}
