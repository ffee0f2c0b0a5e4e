"""Researcher names and title words for the benchmark corpus, so text search is measured on
text shaped like real data: first and last names from many languages (with accents,
apostrophes and hyphens), a middle name or initial on some, and titles drawn from a few
hundred words with a skewed (Zipf-like) frequency rather than a handful of equally common
ones. Everything is drawn from its own seeded generator, so the rest of the corpus (teams,
years, topics) does not depend on these lists."""

from __future__ import annotations

import itertools
import random


def _words(text: str) -> list[str]:
    # "_" joins a two-word surname into one entry.
    return [word.replace("_", " ") for word in text.split()]


FIRST = _words(
    "María José Lucía Sofía Andrés Ramón Inés Joaquín Martín Víctor Agustín Raúl Iván Álvaro "
    "Renée Hélène Cécile Élodie Jérôme Benoît François Anaïs Zoé Noël Loïc Gaëlle Maëlle "
    "Jürgen Jörg Björn Sören Günter Käthe Lena Jonas Leonie Moritz Fabian Anja Katrin "
    "João Conceição Gonçalo Tomás Sebastião Luís Ana Pedro Rafael Beatriz "
    "Zoë Siobhán Seán Niamh Pádraig Eoin Aoife Ciarán "
    "Łukasz Paweł Małgorzata Wojciech Józef Agnieszka Zoltán Gábor Ágnes Dávid "
    "Jiří Tomáš Petr Radek Dušan Miloš Snežana Ivana Nikola Stjepan "
    "Çağla Ömer Gökhan Şule Ayşe Yiğit Emre Elif "
    "Håkon Åsa Øystein Bjørn Jørgen Märta Ingrid Sigríður Guðmundur Þóra "
    "Wei Li Jing Xiaoming Yan Hui Min-jun Ji-woo Seo-yeon Hiroshi Yuki Haruto Sakura Kenji "
    "Aarav Priya Ananya Rohan Lakshmi Arjun Deepa Vikram Nguyễn Thảo Minh "
    "Amara Chinedu Oluwaseun Ngozi Kwame Abena Tendai Thandiwe "
    "Mohammed Fatima Youssef Layla Omar Yasmin Karim Nour "
    "James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William Susan "
    "Richard Jessica Joseph Sarah Thomas Karen Daniel Emily Matthew Olivia Andrew Grace "
    "Giulia Francesco Alessandro Chiara Matteo Federica Lorenzo Niccolò "
    "Dmitri Olga Sergei Natalia Alexei Irina Yulia Mikhail"
)
LAST = _words(
    "García Martínez Rodríguez Fernández López González Sánchez Pérez Gómez Ramírez Cacho "
    "Hernández Jiménez Díaz Muñoz Álvarez Romero Gutiérrez Núñez Domínguez Vázquez Suárez "
    "Müller Schröder Schäfer Köhler Krüger Wöhler Bäcker Groß Weiß Fuß Hoffmann Becker "
    "Lefèvre Dubois Moreau Girard Béranger Lemaître Château Fontaine Benoît Thérien "
    "Gonçalves Araújo Simões Magalhães Conceição Brandão Falcão Guimarães "
    "O'Brien O'Connor Ó_Súilleabháin MacGiolla Murphy Kelly Byrne Ní_Bhriain "
    "Kowalski Wiśniewski Wójcik Kamiński Lewandowski Dąbrowski Zieliński Szymański "
    "Nagy Kovács Tóth Szabó Horváth Varga Dvořák Novák Černý Procházka Kučera Šimić "
    "Petrović Jovanović Đorđević Kovačević Yılmaz Kaya Demir Şahin Çelik Öztürk Aydın "
    "Andersen Johansson Løvik Sørensen Ødegaard Åberg Lindqvist Guðmundsdóttir Jónsson "
    "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo Lin He "
    "Kim Lee Park Choi Jung Kang Cho Yoon Tanaka Suzuki Takahashi Watanabe Itō Yamamoto "
    "Nakamura Kobayashi Katō Saitō Sharma Patel Singh Kumar Gupta Reddy Iyer Nair "
    "Chatterjee Banerjee Nguyễn Trần Lê Phạm Hoàng Vũ Okafor Adeyemi Mensah Okonkwo "
    "Abubakar Nkosi Haddad Khalil Mansour Saleh Farouk Al-Rashid El-Amin Ben-David "
    "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Moore Jackson "
    "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco De_Luca "
    "Ivanov Smirnov Kuznetsov Popov Sokolov Lebedev Kozlov Novikov Van_der_Berg De_Vries "
    "Van_Dijk Janssen Bakker Visser Smit Meijer Da_Silva Dos_Santos Oliveira Pereira"
)

TITLE_WORDS = _words(
    "learning graph neural network model protein climate language quantum cell data "
    "analysis method system approach study inference optimisation genome survey causal "
    "robust sparse transformer ocean catalysis imaging policy theory dynamics signal "
    "deep reinforcement adaptive bayesian stochastic efficient scalable distributed "
    "representation estimation detection classification segmentation prediction control "
    "structure function evolution expression regulation disease cancer brain immune "
    "bacterial viral infection vaccine therapy drug clinical patient health population "
    "social economic market trade labour education urban rural energy solar battery "
    "carbon emission water soil plant forest species diversity ecosystem marine coastal "
    "ice atmospheric aerosol precipitation temperature heat flow fluid turbulence "
    "material polymer crystal surface interface thin film semiconductor magnetic spin "
    "superconducting topological photonic optical laser plasma particle nuclear "
    "galaxy stellar planetary cosmic dark matter gravitational wave black hole "
    "algorithm complexity bound proof logic formal verification programming software "
    "security privacy cryptographic blockchain wireless communication channel antenna "
    "sensor robot autonomous vehicle navigation planning reasoning knowledge semantic "
    "text speech vision image video generation diffusion attention embedding retrieval "
    "recommendation fairness explainable interpretable federated contrastive "
    "self-supervised multimodal benchmark dataset evaluation review meta-analysis "
    "trial cohort longitudinal cross-sectional randomized genetic epigenetic single-cell "
    "sequencing transcriptomic proteomic metabolic microbiome synaptic cortical neuronal "
    "memory behaviour cognitive development child ageing mortality risk factor "
    "mechanism pathway receptor enzyme molecular synthesis reaction catalyst electrochemical "
    "hydrogen nanoparticle composite mechanical fracture fatigue seismic earthquake "
    "volcanic sediment groundwater hydrology agriculture crop yield food nutrition "
    "obesity diabetes cardiovascular stroke pain sleep mental depression anxiety "
    "migration inequality governance democracy conflict law regulation finance risk "
    "uncertainty simulation numerical finite element mesh spectral nonlinear linear "
    "equation operator manifold geometry topology algebra group number prime random "
    "matrix tensor kernel gaussian process regression sampling monte carlo markov chain"
)


def _zipf_cumulative(count: int, exponent: float = 1.0) -> list[float]:
    return list(itertools.accumulate(1.0 / (rank + 1) ** exponent for rank in range(count)))


class Names:
    """Deterministic names and titles from their own generator (seeded)."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.first_weights = _zipf_cumulative(len(FIRST), 0.6)
        self.last_weights = _zipf_cumulative(len(LAST), 0.6)
        self.word_weights = _zipf_cumulative(len(TITLE_WORDS), 0.6)

    def person(self) -> str:
        rnd = self.random
        first = rnd.choices(FIRST, cum_weights=self.first_weights)[0]
        last = rnd.choices(LAST, cum_weights=self.last_weights)[0]
        roll = rnd.random()
        if roll < 0.15:  # a middle initial
            return f"{first} {rnd.choice(FIRST)[0]}. {last}"
        if roll < 0.22:  # a middle name
            return f"{first} {rnd.choice(FIRST)} {last}"
        if roll < 0.30:  # two surnames, as in Spanish and Portuguese
            return f"{first} {last} {rnd.choices(LAST, cum_weights=self.last_weights)[0]}"
        return f"{first} {last}"

    def title(self, words: int = 7) -> str:
        chosen = self.random.choices(TITLE_WORDS, cum_weights=self.word_weights, k=words)
        return " ".join(chosen).capitalize()


def orcid_for(number: int) -> str:
    """A well-formed ORCID iD (ISO 7064 mod 11-2 check digit) unique to `number`."""
    base = f"0009{number:011d}"
    total = 0
    for digit in base:
        total = (total + int(digit)) * 2
    check = (12 - total % 11) % 11
    digits = base + ("X" if check == 10 else str(check))
    return "-".join(digits[i : i + 4] for i in range(0, 16, 4))
